import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { trafficStateSchema } from "../../store/deployments.ts";
import { apply } from "../actions.ts";
import type { ToolDeps } from "../deps.ts";
import type { Applied } from "../results.ts";
import { describeState, proposalViewSchema, viewProposal } from "../proposal-view.ts";
import { registerToolSpec } from "../tool-kit.ts";
import { planViewSchema, progressOf, viewPlan } from "../../rollout/plan-view.ts";

export function registerApplyActionTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "apply_action",
    title: "Apply an approved proposal",
    description:
      "Applies a proposal that a person has approved, through the inference service's admin API. Refused unless the proposal is " +
      "approved and not expired, rejected, failed or already applied, and refused (409) if the model's traffic changed after the " +
      "proposal was made — then read the state again and propose anew. Each proposal applies at most once. A retrain starts the " +
      "rollout plan the person approved (see `rollout`): it trains, shadows, canaries and promotes the candidate only as each stage's gate passes; call advance_rollout to move it on.",
    input: z.object({ proposal_id: z.string().min(1).max(100).describe("The id propose_action returned.") }).strict(),
    output: z.object({
      proposal: proposalViewSchema,
      applied_event_id: z.string(),
      state: trafficStateSchema.describe("The model's traffic state now."),
      rollout: planViewSchema.nullable().describe("retrain: the rollout plan it started (collect → train → shadow → canary → promote → verify); advance it with advance_rollout."),
    }),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    onDeadline: "the apply may still complete: read get_proposal before anything else (applying twice is refused either way)",
    async run({ proposal_id }): Promise<{ summary: string; data: Applied }> {
      const result = await apply(deps, proposal_id, deps.principal.name, deps.clock());
      const p = result.proposal;
      const what = result.plan
        ? `rollout plan ${result.plan.id} started: ${progressOf(result.plan)}; traffic is ${describeState(result.state)}`
        : `traffic is now ${describeState(result.state)}`;
      return {
        summary: `Applied proposal ${p.id} (${p.action} of '${p.model}', approved by ${p.decidedBy}): ${what} (event ${result.eventId}).`,
        data: { proposal: viewProposal(p, deps.clock()), applied_event_id: result.eventId, state: result.state, rollout: result.plan ? viewPlan(result.plan) : null },
      };
    },
  });
}
