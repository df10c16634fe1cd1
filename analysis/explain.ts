import { explainRequest, type ExplainRequest, type RequestExplanation, type ScorerSource } from "../models/explain/explain-request.ts";
import { openScorer } from "../models/explain/open-scorer.ts";
import type { Store } from "../store/client.ts";
import { chooseVersion, modelVersions } from "./version.ts";
import { resolveWindow } from "./window.ts";

/** A fresh session per explanation: explanations are rare, and a process without serving keeps no session cache. */
const freshSessions = (store: Store): ScorerSource => ({
  async open(model, version) {
    const s = await openScorer(store, model, version);
    return { scorer: s, meta: s.meta, baseline: s.baseline, release: () => s.release() };
  },
});

/**
 * Feature attributions for a logged request id or a posted row. A posted row without a version is
 * explained with the version that served most primary traffic in the last hour (else production).
 */
export async function explainPrediction(store: Store, request: ExplainRequest, nowUs = Date.now() * 1000): Promise<RequestExplanation> {
  await modelVersions(store, request.model);
  const defaultVersion = async (model: string) => {
    const choice = await chooseVersion(store, model, resolveWindow(undefined, nowUs), undefined, { exactTraffic: false });
    return { version: choice.version, chosenBy: choice.chosenBy };
  };
  return explainRequest(store, freshSessions(store), defaultVersion, request);
}
