import ort from "onnxruntime-node";
import type { Store } from "../../store/client.ts";
import { imputationFill, type ModelBaseline } from "../baseline.ts";
import { encodedWidth, encodeRows } from "../encode.ts";
import { ioScorer, type Scorer } from "../import/io-scorer.ts";
import { getBaseline, getVersion, loadArtifact, type ModelVersion } from "../registry.ts";

export interface OpenedScorer extends Scorer {
  meta: ModelVersion;
  baseline: ModelBaseline;
  release(): Promise<void>;
}

/**
 * A version's real onnxruntime session behind the Scorer serving uses, for a process that does not
 * serve (the MCP server may not reach into inference/). It scores exactly as inference/sessions.ts
 * does: the same encoding, imputation and, for imported graphs, the same io mapping.
 */
export async function openScorer(store: Store, model: string, version: string): Promise<OpenedScorer> {
  const meta = await getVersion(store, model, version);
  const [session, baseline] = await Promise.all([
    ort.InferenceSession.create(loadArtifact(meta), { intraOpNumThreads: 1, interOpNumThreads: 1 }),
    getBaseline(store, model, version),
  ]);
  const fill = imputationFill(baseline.features, meta.schema);
  const scorer = meta.schema.io ? ioScorer(session, meta.schema, fill) : nativeScorer(session, meta, fill);
  return { ...scorer, meta, baseline, release: () => session.release() };
}

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
