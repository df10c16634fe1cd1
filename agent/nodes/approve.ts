import { interrupt } from "@langchain/langgraph";
import { z } from "zod";
import type { AgentStateType, AgentUpdate, Decision, Status } from "../state.ts";
import { actions, ToolCallError } from "../tools.ts";
import { entry, type AgentDeps } from "./common.ts";
import { describeAction } from "./propose.ts";

/** What a person's side resumes the run with: `new Command({ resume: <this> })`. */
export const decisionInputSchema = z.object({
  decision: z.enum(["approve", "reject", "edit"]),
  by: z.string().min(1),
  reason: z.string().optional(),
  edited: z
    .object({ action: z.enum(actions).optional(), version: z.string().min(1).optional(), canaryPercent: z.number().min(0).max(100).optional() })
    .optional(),
  /** edit: the proposal a person already made from their edit on the server (the console); the run waits on it instead of proposing again. */
  proposalId: z.string().min(1).optional(),
});
export type DecisionInput = z.infer<typeof decisionInputSchema>;

/** What the run shows while it waits: what, why, the expected effect, how to undo, and the evidence. */
export interface ApprovalRequest {
  incidentId: string;
  model: string;
  proposalId: string;
  what: string;
  why: string;
  expectedEffect: string;
  undo: string;
  /** retrain: the rollout plan being approved, stage by stage. */
  plan?: string[];
  expiresAt: string | null;
  diagnosis: AgentStateType["diagnosis"];
  evidence: { id: string; tool: string; args: Record<string, unknown>; summary: string }[];
}

/**
 * Waits for a person: `interrupt()` with the proposal, resumed with their decision. The approval
 * itself is recorded by the person's side on the MCP server's approval channel (approve_action
 * with the approver token); this node only reads the decision and checks the proposal's status
 * with get_proposal, since apply_action succeeds only for a proposal a person approved there.
 * With MLWATCH_AUTO_APPROVE (simulation only) no one is asked: the approver connection configured
 * for it approves on the server, and the decision says autoApproved.
 */
export async function approve(state: AgentStateType, deps: AgentDeps): Promise<AgentUpdate> {
  const p = state.proposal!;
  const input = deps.config.autoApprove ? await autoApprove(p.proposalId, deps) : (interrupt(approvalRequest(state), { responseSchema: decisionInputSchema }) as DecisionInput);
  const decision: Decision = { ...input, autoApproved: deps.config.autoApprove, at: new Date(deps.now()).toISOString() };
  if (input.decision === "edit") {
    return { decision, decisions: [decision], status: "edit_requested", timeline: [entry(deps, "approve", `${input.by} asked for changes: ${JSON.stringify(input.edited ?? {})}${input.reason ? ` — ${input.reason}` : ""}`)] };
  }
  decision.serverStatus = await serverStatus(p.proposalId, deps);
  const status: Status = input.decision === "reject" ? "rejected" : decision.serverStatus === "approved" ? "approved" : "approval_missing";
  const note =
    status === "approval_missing"
      ? `resumed as approved by ${input.by}, but the server has ${p.proposalId} as '${decision.serverStatus}': not applying`
      : `${input.decision === "approve" ? "approved" : "rejected"} by ${input.by}${decision.autoApproved ? " (auto-approved, simulation)" : ""}${input.reason ? ` — ${input.reason}` : ""}; server status ${decision.serverStatus}`;
  return { decision, decisions: [decision], status, timeline: [entry(deps, "approve", note)] };
}

function approvalRequest(state: AgentStateType): ApprovalRequest {
  const p = state.proposal!;
  return {
    incidentId: state.incidentId,
    model: state.model,
    proposalId: p.proposalId,
    what: `${describeAction(p)} for ${state.model}`,
    why: state.diagnosis?.explanation ?? "",
    expectedEffect: p.effect,
    undo: p.undo,
    ...(p.plan ? { plan: p.plan } : {}),
    expiresAt: p.expiresAt,
    diagnosis: state.diagnosis,
    evidence: state.evidence.map(({ id, tool, args, summary }) => ({ id, tool, args, summary })),
  };
}

async function autoApprove(proposalId: string, deps: AgentDeps): Promise<DecisionInput> {
  if (!deps.approver) throw new Error("MLWATCH_AUTO_APPROVE is on but no approver connection was configured");
  const reason = "auto-approved: MLWATCH_AUTO_APPROVE=1 (simulation only)";
  // A re-run of this node (after a crash) must not approve twice.
  if ((await deps.tools.getProposal(proposalId)).status !== "approved") await deps.approver.approve({ proposal_id: proposalId, decision: "approve", approver: "auto-approver (MLWATCH_AUTO_APPROVE)", reason });
  return { decision: "approve", by: "auto-approver", reason };
}

async function serverStatus(proposalId: string, deps: AgentDeps): Promise<string> {
  try {
    return (await deps.tools.getProposal(proposalId)).status;
  } catch (err) {
    if (err instanceof ToolCallError) return `unknown (${err.message})`;
    throw err;
  }
}
