import { extractFacts } from "../facts.ts";
import type { Applied } from "../../mcp-server/results.ts";
import type { ActionResult, AgentStateType, AgentUpdate } from "../state.ts";
import { ToolCallError } from "../tools.ts";
import { entry, numbered, evidenceSummary, type AgentDeps } from "./common.ts";
import { describeAction } from "./propose.ts";

/** apply_action on the approved proposal; a retrain answers with the rollout plan it started. */
export async function act(state: AgentStateType, deps: AgentDeps): Promise<AgentUpdate> {
  const p = state.proposal!;
  const traffic = extractFacts(state.evidence, deps.config, deps.now()).traffic;
  const before = traffic ?? { primary: null, previous: null, canary: null };
  const expectedPrimary = p.action === "rollback" ? (p.version ?? before.previous) : p.action === "promote" ? (p.version ?? null) : before.primary;
  const args = { proposal_id: p.proposalId };
  try {
    const data = await deps.tools.apply(p.proposalId);
    const result: ActionResult = { ok: true, proposalId: p.proposalId, detail: `applied ${describeAction(p)}`, appliedAtUs: deps.now() * 1000, before, expectedPrimary };
    const evidence = numbered(state, [{ node: "act", tool: "apply_action", args, summary: evidenceSummary.applied(data), data }]);
    if (p.action === "retrain") return afterRetrain(deps, result, evidence, data);
    return { actionResult: result, evidence, status: "applied", timeline: [entry(deps, "act", `${result.detail} (${p.proposalId})`)] };
  } catch (err) {
    if (!(err instanceof ToolCallError)) throw err;
    const detail = `apply_action failed: ${err.message}; escalating to a person`;
    const result: ActionResult = { ok: false, proposalId: p.proposalId, detail, before, expectedPrimary };
    return { actionResult: result, status: "escalated", timeline: [entry(deps, "act", detail)] };
  }
}

/** An approved retrain started a rollout plan on the server: the rollout node follows it from here. */
function afterRetrain(deps: AgentDeps, result: ActionResult, evidence: AgentUpdate["evidence"], data: Applied): AgentUpdate {
  const plan = data.rollout;
  if (!plan) return { actionResult: { ...result, ok: false, detail: "retrain started no rollout plan; escalating" }, evidence, status: "escalated", timeline: [entry(deps, "act", "retrain started no rollout plan")] };
  return { actionResult: result, plan, evidence, status: "rolling_out", timeline: [entry(deps, "act", `rollout plan ${plan.id} started: ${plan.progress}`)] };
}
