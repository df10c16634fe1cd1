import { extractFacts } from "../facts.ts";
import type { ActionResult, AgentStateType, AgentUpdate, Candidate } from "../state.ts";
import { ToolError } from "../tools.ts";
import { entry, numbered, summarize, type AgentDeps } from "./common.ts";
import { describeAction } from "./propose.ts";

/** apply_action on the approved proposal. `retrain` may answer "not implemented": reported, then escalated. */
export async function act(state: AgentStateType, deps: AgentDeps): Promise<AgentUpdate> {
  const p = state.proposal!;
  const traffic = extractFacts(state.evidence, deps.config, deps.now()).traffic;
  const before = traffic ?? { primary: null, previous: null, canary: null };
  const expectedPrimary = p.action === "rollback" ? (p.version ?? before.previous) : p.action === "promote" ? (p.version ?? null) : before.primary;
  const args = { proposal_id: p.proposalId };
  try {
    const data = await deps.tools.apply(p.proposalId);
    const result: ActionResult = { ok: true, proposalId: p.proposalId, detail: `applied ${describeAction(p)}`, appliedAtUs: deps.now() * 1000, before, expectedPrimary };
    const evidence = numbered(state, [{ node: "act", tool: "apply_action", args, summary: summarize.applied(data), data }]);
    if (p.action === "retrain") return afterRetrain(state, deps, result, evidence, data);
    return { actionResult: result, evidence, status: "applied", timeline: [entry(deps, "act", `${result.detail} (${p.proposalId})`)] };
  } catch (err) {
    if (!(err instanceof ToolError)) throw err;
    const detail = err.notImplemented
      ? `the MCP server does not implement '${p.action}' yet (${err.message}); escalating to a person`
      : `apply_action failed: ${err.message}; escalating to a person`;
    const result: ActionResult = { ok: false, proposalId: p.proposalId, detail, notImplemented: err.notImplemented, before, expectedPrimary };
    return { actionResult: result, status: "escalated", timeline: [entry(deps, "act", detail)] };
  }
}

/** Held-out accuracy must beat the serving version's on the same rows by this much to be proposed… */
export const PROMOTE_MARGIN = 0.01;
/** …and the difference must hold up: McNemar's test on those paired rows below this p-value. */
export const PROMOTE_MAX_P_VALUE = 0.05;

/**
 * A retrain changes no traffic: it registers a candidate. The candidate is proposed for promotion
 * (a second approval) only when its accuracy on the newest labelled rows of the window, held out
 * from its training, beats what the serving version achieved on those same rows; otherwise a
 * person decides. Judging on the newest rows, not a random sample, is what catches a candidate
 * that learnt a concept which has since moved on; requiring McNemar's test to agree keeps a
 * difference of a few rows in ~150 (noise) from replacing a model.
 */
function afterRetrain(state: AgentStateType, deps: AgentDeps, result: ActionResult, evidence: AgentUpdate["evidence"], data: unknown): AgentUpdate {
  // apply_action's `retrained`: { version, trained_on_rows, held_out_accuracy, added_categories }.
  const retrained = (
    data as { retrained?: { version?: string; held_out_accuracy?: number; serving_accuracy?: number; trained_on_rows?: number; comparison?: { p_value?: number } } | null }
  ).retrained;
  const version = retrained?.version;
  if (!version || typeof retrained?.held_out_accuracy !== "number") {
    return { actionResult: { ...result, ok: false, detail: "retrain registered no candidate; escalating" }, evidence, status: "escalated", timeline: [entry(deps, "act", "retrain registered no candidate")] };
  }
  // The bar is the serving version's accuracy on the very rows the candidate is judged on.
  const current = typeof retrained.serving_accuracy === "number" ? retrained.serving_accuracy : null;
  const candidate: Candidate = { version, heldOutAccuracy: retrained.held_out_accuracy, trainedOnRows: retrained.trained_on_rows ?? 0, currentAccuracy: current };
  const pValue = typeof retrained.comparison?.p_value === "number" ? retrained.comparison.p_value : null;
  const line =
    `retrained v${version} on ${candidate.trainedOnRows} labelled rows: held-out accuracy ${(candidate.heldOutAccuracy * 100).toFixed(1)}% vs ` +
    `${current === null ? "unknown" : `${(current * 100).toFixed(1)}%`} for the serving version on the newest rows${pValue === null ? "" : ` (McNemar p=${pValue.toPrecision(2)})`}`;
  if (current !== null && candidate.heldOutAccuracy < current + PROMOTE_MARGIN) {
    return { actionResult: { ...result, ok: false, detail: `${line}: not better; escalating` }, candidate, evidence, status: "escalated", timeline: [entry(deps, "act", `${line}: not better, not proposed`)] };
  }
  if (pValue !== null && pValue >= PROMOTE_MAX_P_VALUE) {
    return { actionResult: { ...result, ok: false, detail: `${line}: not significantly better; escalating` }, candidate, evidence, status: "escalated", timeline: [entry(deps, "act", `${line}: not significantly better, not proposed`)] };
  }
  return { actionResult: result, candidate, evidence, status: "retrained", timeline: [entry(deps, "act", `${line}: proposing its promotion`)] };
}
