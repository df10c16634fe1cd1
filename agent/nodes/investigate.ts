import { extractFacts } from "../facts.ts";
import type { AgentStateType, AgentUpdate, Evidence } from "../state.ts";
import { entry, numbered, observe, evidenceSummary, type AgentDeps } from "./common.ts";
import { lookbackWindow } from "./monitor.ts";

/**
 * More evidence than monitoring needs, all through MCP tools: accuracy by version and over time over
 * a window long enough to include the version before the last deployment (its trend says when
 * accuracy fell), drift of the serving version by feature, samples of wrong predictions, the
 * segments whose error rate rose against the version's held-out rates (where a concept drift is), and, when a
 * deployment is recent, the two versions side by side and the new version's inputs against the
 * previous version's training baseline as well as its own — drift against its own baseline only
 * means it was trained on data unlike its traffic. Health and deployments came with monitor.
 */
export async function investigate(state: AgentStateType, deps: AgentDeps): Promise<AgentUpdate> {
  const { tools, config } = deps;
  const model = state.model;
  const window = { lastSeconds: config.windowSeconds };
  const lookback = lookbackWindow(config);
  const facts = extractFacts(state.evidence, config, deps.now());
  const primary = facts.traffic?.primary ?? undefined;
  const dep = facts.recentDeployment;

  const accArgs = { model, window: lookback };
  const driftArgs = { model, window, ...(primary ? { version: primary } : {}) };
  const logArgs = { model, correct: false, orderBy: "confidence" as const, limit: 20, window };
  const segmentArgs = { model, window, against: "baseline" as const, ...(primary ? { version: primary } : {}) };
  const calls: Promise<{ evidence: Omit<Evidence, "id"> }>[] = [
    observe("investigate", "get_model_accuracy", accArgs, () => tools.accuracy(accArgs), evidenceSummary.accuracy),
    observe("investigate", "detect_data_drift", driftArgs, () => tools.drift(driftArgs), evidenceSummary.drift),
    observe("investigate", "query_inference_logs", logArgs, () => tools.logs(logArgs), evidenceSummary.logs),
    observe("investigate", "find_failing_segments", segmentArgs, () => tools.segments(segmentArgs), evidenceSummary.segments),
  ];
  if (dep?.previousVersion) {
    const cmpArgs = { model, versionA: dep.previousVersion, versionB: dep.version, window: lookback };
    calls.push(observe("investigate", "compare_model_versions", cmpArgs, () => tools.compare(cmpArgs), evidenceSummary.compare));
    if (dep.version !== primary) {
      const ownArgs = { model, window, version: dep.version };
      calls.push(observe("investigate", "detect_data_drift", ownArgs, () => tools.drift(ownArgs), evidenceSummary.drift));
    }
    const refArgs = { model, window, version: dep.version, referenceVersion: dep.previousVersion };
    calls.push(observe("investigate", "detect_data_drift", refArgs, () => tools.drift(refArgs), evidenceSummary.drift));
  }
  const evidence = numbered(state, (await Promise.all(calls)).map((c) => c.evidence));
  return {
    evidence,
    timeline: [entry(deps, "investigate", `gathered ${evidence.length} more facts: ${evidence.map((e) => `${e.id} ${e.tool}`).join(", ")}`)],
  };
}
