import ort from "onnxruntime-node";
import type { Store } from "../store/client.ts";
import { imputationFill, type ModelBaseline } from "../models/baseline.ts";
import { encodedWidth, encodeRows } from "../models/encode.ts";
import { ensembleScorer, ensembleSpecOf } from "../models/ensemble.ts";
import { ioScorer, type Scorer } from "../models/import/io-scorer.ts";
import { isDeterministic } from "../models/determinism.ts";
import { getBaseline, getVersion, loadArtifact, type ModelVersion } from "../models/registry.ts";

/** A version ready to serve; its Scorer turns rows into the session's feeds and outputs into probabilities. */
export interface LoadedVersion extends Scorer {
  meta: ModelVersion;
  baseline: ModelBaseline;
  /** An ensemble's members, the very entries their own versions serve from; absent on other versions. */
  members?: LoadedVersion[];
  /** Frees the version's own session; an ensemble has none (its members' entries hold theirs). */
  release(): Promise<void>;
  /** Feature names in the order the log's feature_num / feature_cat arrays store them. */
  numericNames: string[];
  categoricalNames: string[];
  /** No random operator in the graph: its answers may be cached. */
  deterministic: boolean;
}

/**
 * One onnxruntime session per model version, created once and shared by every request. One intra-op
 * thread per session: the micro-batcher already gives each call a whole batch, and on a 2-core box
 * a second thread competes with the event loop rather than helping.
 */
export class SessionCache {
  private readonly loaded = new Map<string, Promise<LoadedVersion>>();
  private readonly ready = new Map<string, LoadedVersion>();

  constructor(
    private readonly store: Store,
    private readonly intraOpNumThreads = 1,
  ) {}

  get(model: string, version: string): Promise<LoadedVersion> {
    const key = `${model}\u0000${version}`;
    let entry = this.loaded.get(key);
    if (!entry) {
      entry = this.load(model, version);
      // A failed load is not cached: the next request may find the artifact repaired.
      entry.then(
        (v) => this.ready.set(key, v),
        () => this.loaded.delete(key),
      );
      this.loaded.set(key, entry);
    }
    return entry;
  }

  /** The version's session if it has finished loading; a fallback must not wait for a load. */
  loadedNow(model: string, version: string): LoadedVersion | undefined {
    return this.ready.get(`${model}\u0000${version}`);
  }

  async close(): Promise<void> {
    const all = await Promise.allSettled(this.loaded.values());
    for (const r of all) if (r.status === "fulfilled") await r.value.release();
    this.loaded.clear();
    this.ready.clear();
  }

  private async load(model: string, version: string): Promise<LoadedVersion> {
    const meta = await getVersion(this.store, model, version);
    const bytes = loadArtifact(meta);
    const names = (type: "numeric" | "categorical") => meta.schema.features.filter((f) => f.type === type).map((f) => f.name);
    const columns = { numericNames: names("numeric"), categoricalNames: names("categorical") };
    if (meta.kind === "ensemble") {
      // Members come from this cache: a version serving alone and inside an ensemble has one session.
      const spec = ensembleSpecOf(bytes);
      const [members, baseline] = await Promise.all([Promise.all(spec.members.map((m) => this.get(model, m.version))), getBaseline(this.store, model, version)]);
      return { ...ensembleScorer(spec, members, meta.schema.classes.length), meta, baseline, members, release: async () => undefined, deterministic: members.every((m) => m.deterministic), ...columns };
    }
    const [session, baseline] = await Promise.all([
      ort.InferenceSession.create(bytes, { intraOpNumThreads: this.intraOpNumThreads, interOpNumThreads: 1 }),
      getBaseline(this.store, model, version),
    ]);
    // Training (or reference) means stand in for missing numeric values, exactly as in training.
    const fill = imputationFill(baseline.features, meta.schema);
    const scorer = meta.schema.io ? ioScorer(session, meta.schema, fill) : nativeScorer(session, meta, fill);
    return { ...scorer, meta, baseline, release: () => session.release(), deterministic: isDeterministic(bytes, meta.artifact), ...columns };
  }
}

/** A version mlwatch trained: one float input laid out by models/encode.ts, probabilities out. */
function nativeScorer(session: ort.InferenceSession, meta: ModelVersion, fill: number[]): Scorer {
  const inputName = session.inputNames[0];
  const outputName = session.outputNames.includes("probabilities") ? "probabilities" : session.outputNames[0];
  if (!inputName || !outputName) throw new Error(`model '${meta.model}' version ${meta.version} has no input or output`);
  const width = encodedWidth(meta.schema);
  return {
    width,
    encode: (rows) => encodeRows(rows, meta.schema, fill),
    async run(encoded, rows) {
      const out = await session.run({ [inputName]: new ort.Tensor("float32", encoded, [rows, width]) }, [outputName]);
      return out[outputName]!.data as Float32Array;
    },
  };
}
