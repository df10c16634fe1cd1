import type { Store } from "../../store/client.ts";
import { imputationFill, type ModelBaseline } from "../baseline.ts";
import { ensembleScorer, ensembleSpecOf } from "../ensemble.ts";
import type { Scorer } from "../import/io-scorer.ts";
import { getBaseline, getVersion, loadArtifact, type ModelVersion } from "../registry.ts";
import { openSessionOf, sessionScorer } from "../session-scorer.ts";

export interface OpenedScorer extends Scorer {
  meta: ModelVersion;
  baseline: ModelBaseline;
  release(): Promise<void>;
}

/**
 * A registered version's real onnxruntime session (an ensemble's: its members' sessions, combined),
 * for a process that does not serve (the MCP server may not reach into inference/) and for
 * registering an ensemble.
 */
export async function openScorer(store: Store, model: string, version: string): Promise<OpenedScorer> {
  const meta = await getVersion(store, model, version);
  const baseline = await getBaseline(store, model, version);
  if (meta.kind === "ensemble") {
    const spec = ensembleSpecOf(loadArtifact(meta));
    const members = await openAll(store, model, spec.members.map((m) => m.version));
    const scorer = ensembleScorer(spec, members, meta.schema.classes.length);
    return { ...scorer, meta, baseline, release: async () => void (await Promise.all(members.map((m) => m.release()))) };
  }
  const session = await openSessionOf(loadArtifact(meta));
  const scorer = sessionScorer(session, meta.schema, imputationFill(baseline.features, meta.schema), `model '${model}' version ${version}`);
  return { ...scorer, meta, baseline, release: () => session.release() };
}

/** Every version opened, or none left open. */
export async function openAll(store: Store, model: string, versions: readonly string[]): Promise<OpenedScorer[]> {
  const opened = await Promise.allSettled(versions.map((v) => openScorer(store, model, v)));
  const failed = opened.find((o) => o.status === "rejected");
  if (!failed) return opened.map((o) => (o as PromiseFulfilledResult<OpenedScorer>).value);
  await Promise.all(opened.flatMap((o) => (o.status === "fulfilled" ? [o.value.release()] : [])));
  throw failed.reason;
}
