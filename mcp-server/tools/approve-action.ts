import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { decide } from "../actions.ts";
import { APPROVE_SCOPE } from "../auth.ts";
import type { ToolDeps } from "../deps.ts";
import { ToolError } from "../tool-error.ts";
import { proposalViewSchema, viewProposal } from "../proposal-view.ts";
import { registerToolSpec } from "../tool-kit.ts";
import { getProposal } from "../../rollout/proposals.ts";
import { abortPlan } from "../rollout-runner.ts";
import { planForProposal } from "../../rollout/plan-store.ts";
import { progressOf } from "../../rollout/plan-view.ts";

/**
 * Registered only for a caller who authenticated over HTTP with the approver token, and checked
 * again per call against the request's auth info: an agent's session never sees it.
 */
export function registerApproveActionTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "approve_action",
    title: "Approve or reject a proposal (people only)",
    description:
      "A person's decision on a pending proposal: 'approve' lets apply_action apply it, 'reject' closes it for good, 'abort' stops the rollout plan an applied retrain started. Only available " +
      "to a caller holding the approver credential. Read the proposal's effect and reason (get_proposal) before deciding.",
    input: z
      .object({
        proposal_id: z.string().min(1).max(100),
        decision: z.enum(["approve", "reject", "abort"]).describe("abort: stop the rollout plan an approved retrain started; its candidate leaves traffic"),
        approver: z.string().min(1).max(200).optional().describe("Name of the person deciding; recorded in the audit log (default: the approver credential)."),
        reason: z.string().max(2000).optional(),
      })
      .strict(),
    output: proposalViewSchema,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    async run({ proposal_id, decision, approver, reason }, ctx) {
      if (deps.principal.role !== "approver" || !ctx.authInfo?.scopes.includes(APPROVE_SCOPE)) {
        throw new ToolError("approve_action needs the approver credential (MLWATCH_APPROVER_TOKEN over HTTP); an agent cannot approve");
      }
      const now = deps.clock();
      if (decision === "abort") {
        const plan = await planForProposal(deps.store, proposal_id);
        if (!plan) throw new ToolError(`proposal ${proposal_id} started no rollout plan; only a running plan can be aborted`);
        const ended = await abortPlan(deps, plan.id, approver ?? deps.principal.name, reason || "aborted through approve_action", now);
        return { summary: `Rollout plan ${plan.id} of proposal ${proposal_id}: ${progressOf(ended)}.`, data: viewProposal(await getProposal(deps.store, proposal_id), now) };
      }
      const p = await decide(deps.store, proposal_id, { approve: decision === "approve", by: approver ?? deps.principal.name, reason: reason ?? "" }, now);
      const view = viewProposal(p, now);
      return { summary: `Proposal ${p.id} ${view.status} by ${p.decidedBy}: ${view.effect}.`, data: view };
    },
  });
}
