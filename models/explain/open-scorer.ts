import type { Store } from "../../store/client.ts";
import { imputationFill, type ModelBaseline } from "../baseline.ts";
import type { Scorer } from "../import/io-scorer.ts";
import { getBaseline, getVersion, loadArtifact, type ModelVersion } from "../registry.ts";
import { openSessionOf, sessionScorer } from "../session-scorer.ts";

export interface OpenedScorer extends Scorer {
  meta: ModelVersion;
  baseline: ModelBaseline;
  release(): Promise<void>;
}

/** A registered version's real onnxruntime session, for a process that does not serve (the MCP server may not reach into inference/). */
export async function openScorer(store: Store, model: string, version: string): Promise<OpenedScorer> {
  const meta = await getVersion(store, model, version);
  const [session, baseline] = await Promise.all([openSessionOf(loadArtifact(meta)), getBaseline(store, model, version)]);
  const scorer = sessionScorer(session, meta.schema, imputationFill(baseline.features, meta.schema), `model '${model}' version ${version}`);
  return { ...scorer, meta, baseline, release: () => session.release() };
}
