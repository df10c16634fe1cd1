import type { AgentStateType, AgentUpdate, Revert } from "../state.ts";
import { ToolCallError } from "../tools.ts";
import { entry, type AgentDeps } from "./common.ts";
import { clip, describeAction, inverseOf, REASON_MAX } from "./propose.ts";

/**
 * Verification failed: propose the inverse of what was applied and escalate. The revert waits for a
 * person like any proposal (chat shows it); the agent does not apply it itself.
 */
export async function revert(state: AgentStateType, deps: AgentDeps): Promise<AgentUpdate> {
  const p = state.proposal!;
  const inverse = inverseOf(p, state.actionResult?.before ?? null);
  if (!inverse) {
    const detail = `no inverse of ${describeAction(p)} to propose; escalating to a person`;
    return { revertProposal: { proposalId: null, action: p.action, detail }, status: "escalated", timeline: [entry(deps, "revert", detail)] };
  }
  const tag = ` [incident ${state.incidentId}; auto-approve ${deps.config.autoApprove ? "on" : "off"}]`;
  const reason = clip(`revert of ${p.proposalId} (${describeAction(p)}): ${state.verification?.details ?? "verification failed"}`, REASON_MAX - tag.length) + tag;
  let result: Revert;
  try {
    const r = await deps.tools.propose({ model: state.model, ...inverse, reason });
    result = { proposalId: r.proposal_id, ...inverse, detail: `proposed ${describeAction(inverse)} as ${r.proposal_id}; waiting for a person` };
  } catch (err) {
    if (!(err instanceof ToolCallError)) throw err;
    result = { proposalId: null, ...inverse, detail: `could not propose ${describeAction(inverse)}: ${err.message}` };
  }
  return { revertProposal: result, status: "escalated", timeline: [entry(deps, "revert", `${result.detail}; escalated`)] };
}
