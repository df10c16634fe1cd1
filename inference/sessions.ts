import ort from "onnxruntime-node";
import type { Store } from "../store/client.ts";
import { imputationFill, type ModelBaseline } from "../models/baseline.ts";
import { getBaseline, getVersion, loadArtifact, type ModelVersion } from "../models/registry.ts";

export interface LoadedVersion {
  meta: ModelVersion;
  baseline: ModelBaseline;
  session: ort.InferenceSession;
  inputName: string;
  outputName: string;
  /** Training means that stand in for missing numeric values, exactly as in training. */
  fill: number[];
  /** Feature names in the order the log's feature_num / feature_cat arrays store them. */
  numericNames: string[];
  categoricalNames: string[];
}

/**
 * One onnxruntime session per model version, created once and shared by every request. One intra-op
 * thread per session: the micro-batcher already gives each call a whole batch, and on a 2-core box
 * a second thread competes with the event loop rather than helping.
 */
export class SessionCache {
  private readonly loaded = new Map<string, Promise<LoadedVersion>>();

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
      entry.catch(() => this.loaded.delete(key));
      this.loaded.set(key, entry);
    }
    return entry;
  }

  async close(): Promise<void> {
    const all = await Promise.allSettled(this.loaded.values());
    for (const r of all) if (r.status === "fulfilled") await r.value.session.release();
    this.loaded.clear();
  }

  private async load(model: string, version: string): Promise<LoadedVersion> {
    const meta = await getVersion(this.store, model, version);
    const bytes = loadArtifact(meta);
    const [session, baseline] = await Promise.all([
      ort.InferenceSession.create(bytes, { intraOpNumThreads: this.intraOpNumThreads, interOpNumThreads: 1 }),
      getBaseline(this.store, model, version),
    ]);
    const inputName = session.inputNames[0];
    const outputName = session.outputNames.includes("probabilities") ? "probabilities" : session.outputNames[0];
    if (!inputName || !outputName) throw new Error(`model '${model}' version ${version} has no input or output`);
    const names = (type: "numeric" | "categorical") => meta.schema.features.filter((f) => f.type === type).map((f) => f.name);
    return {
      meta,
      baseline,
      session,
      inputName,
      outputName,
      fill: imputationFill(baseline.features, meta.schema),
      numericNames: names("numeric"),
      categoricalNames: names("categorical"),
    };
  }
}
