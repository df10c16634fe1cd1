import type { ProposalView } from "../mcp-server/proposal-view.ts";
import type { DecisionInput } from "./nodes/approve.ts";
import type { AgentRunner, RunOutcome } from "./runner.ts";
import { ToolCallError, type McpTools } from "./tools.ts";

/** Who closes a run whose proposal expired with no one's decision: no person, so no person's name. */
export const EXPIRY = "mlwatch agent (proposal expired)";

/**
 * What a waiting run is resumed with, read off its proposal's status on the server; null while the
 * run should go on waiting. The decision is the one a person recorded there (`mlwatch approve`, the
 * console, an approver token): approved, rejected, or edited into another proposal. A proposal that
 * left `approved` without this run (applied or failed elsewhere, or expired after approval) resumes
 * as that person's approval, and the approve node, which checks the server's status again, does not
 * act on it. One that expired undecided closes the run without acting, so the model can be watched
 * (and a remedy proposed) again.
 */
export function decisionOf(p: ProposalView): DecisionInput | null {
  const by = p.decided_by ?? undefined;
  const reason = p.decision_reason ?? undefined;
  switch (p.status) {
    case "pending":
    case "applying":
      return null;
    case "rejected":
      return { decision: "reject", by: by ?? "unknown", ...(reason ? { reason } : {}) };
    case "superseded":
      return p.superseded_by ? { decision: "edit", by: by ?? "unknown", ...(reason ? { reason } : {}), proposalId: p.superseded_by } : null;
    case "expired":
      if (!by) return { decision: "reject", by: EXPIRY, reason: `proposal ${p.proposal_id} expired at ${p.expires_at} with no decision; nothing was applied` };
      return { decision: "approve", by, ...(reason ? { reason } : {}) };
    case "approved":
    case "applied":
    case "failed":
      return { decision: "approve", by: by ?? "unknown", ...(reason ? { reason } : {}) };
  }
}

export interface PickedUp {
  incidentId: string;
  model: string;
  proposalId: string;
  /** The proposal's status on the server when it was read. */
  status: ProposalView["status"];
  decision: DecisionInput;
  outcome: RunOutcome;
}

export interface PickUpOptions {
  /** Only runs for this model. */
  model?: string;
  /** One line per run resumed, before it goes on. */
  say?: (line: string) => void;
  /** A proposal that could not be read, or a run that failed once resumed; the others go on. */
  warn?: (line: string) => void;
}

/**
 * Resumes every run of this checkpointer that waits on a proposal a person has decided on the
 * server since: what `mlwatch agent` does at the start of each round, so a decision made with
 * `mlwatch approve` (or the console, while the agent runs apart from serve) reaches the run. The
 * agent's connection only reads the proposal (get_proposal); the decision stays the server's.
 */
export async function resumeDecided(runner: AgentRunner, tools: McpTools, o: PickUpOptions = {}): Promise<PickedUp[]> {
  const warn = o.warn ?? ((line: string) => console.error(line));
  const picked: PickedUp[] = [];
  for (const run of await runner.pending()) {
    if (o.model && run.model !== o.model) continue;
    const proposalId = run.awaiting!.proposalId;
    let view: ProposalView;
    try {
      view = await tools.getProposal(proposalId);
    } catch (err) {
      if (!(err instanceof ToolCallError)) throw err;
      warn(`incident ${run.incidentId}: cannot read proposal ${proposalId} (${err.message}); it goes on waiting`);
      continue;
    }
    const decision = decisionOf(view);
    if (!decision) continue;
    o.say?.(`incident ${run.incidentId}: ${pickedUpLine(view, decision)}`);
    try {
      // resume refuses a run that is no longer waiting (another process resumed it meanwhile).
      const outcome = await runner.resume(run.incidentId, decision);
      picked.push({ incidentId: run.incidentId, model: run.model, proposalId, status: view.status, decision, outcome });
    } catch (err) {
      warn(`incident ${run.incidentId}: resuming with the decision on ${proposalId} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return picked;
}

function pickedUpLine(p: ProposalView, d: DecisionInput): string {
  const why = d.reason ? ` (${d.reason})` : "";
  const id = `proposal ${p.proposal_id}`;
  switch (p.status) {
    case "approved":
      return `${id} was approved by ${d.by}${why}; resuming: apply, then verify`;
    case "rejected":
      return `${id} was rejected by ${d.by}${why}; closing without acting`;
    case "superseded":
      return `${id} was edited by ${d.by} into ${d.proposalId}${why}; waiting on that one`;
    case "expired":
      return d.by === EXPIRY ? `${id} expired at ${p.expires_at} with no decision; closing without acting` : `${id}, approved by ${d.by}, expired at ${p.expires_at} before it was applied; closing without acting`;
    default:
      return `${id} is ${p.status} on the server (approved by ${d.by}), not by this run; closing without acting`;
  }
}
