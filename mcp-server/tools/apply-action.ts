import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { trafficStateSchema } from "../../store/deployments.ts";
import { apply } from "../actions.ts";
import type { ToolDeps } from "../deps.ts";
import { describeState, proposalViewSchema, viewProposal } from "../proposal-view.ts";
import { registerToolSpec } from "../tool-kit.ts";

export function registerApplyActionTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "apply_action",
    title: "Apply an approved proposal",
    description:
      "Applies a proposal that a person has approved, through the inference service's admin API. Refused unless the proposal is " +
      "approved and not expired, rejected, failed or already applied, and refused (409) if the model's traffic changed after the " +
      "proposal was made — then read the state again and propose anew. Each proposal applies at most once. A retrain registers a " +
      "new staging version (see `retrained`) and changes no traffic; deploying it is a separate proposal.",
    input: z.object({ proposal_id: z.string().min(1).max(100).describe("The id propose_action returned.") }).strict(),
    output: z.object({
      proposal: proposalViewSchema,
      applied_event_id: z.string(),
      state: trafficStateSchema.describe("The model's traffic state now."),
      retrained: z
        .object({
          version: z.string(),
          trained_on_rows: z.number(),
          held_out_accuracy: z.number(),
          serving_accuracy: z.number().describe("what the serving versions got right on the same held-out rows"),
          comparison: z
            .object({ candidate_only_right: z.number(), serving_only_right: z.number(), p_value: z.number() })
            .describe("McNemar's test of candidate against serving on the held-out rows (the newest of the window)"),
          added_categories: z.record(z.string(), z.array(z.string())),
        })
        .nullable()
        .describe("retrain: the candidate version it registered (status staging)."),
    }),
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    onDeadline: "the apply may still complete: read get_proposal before anything else (applying twice is refused either way)",
    async run({ proposal_id }) {
      const result = await apply(deps, proposal_id, deps.principal.name, deps.clock());
      const p = result.proposal;
      const r = result.retrained;
      const retrained = r
        ? { version: r.version.version, trained_on_rows: r.trainedOnRows, held_out_accuracy: r.heldOutAccuracy, serving_accuracy: r.servingAccuracy, comparison: { candidate_only_right: r.comparison.candidateOnlyRight, serving_only_right: r.comparison.servingOnlyRight, p_value: r.comparison.pValue }, added_categories: r.addedCategories }
        : null;
      const what = r
        ? `registered v${r.version.version} (staging), trained on ${r.trainedOnRows} labelled rows, held-out accuracy ${(r.heldOutAccuracy * 100).toFixed(1)}% vs ${(r.servingAccuracy * 100).toFixed(1)}% for the serving versions on the same rows (McNemar p=${r.comparison.pValue.toPrecision(2)}); traffic unchanged: ${describeState(result.state)}`
        : `traffic is now ${describeState(result.state)}`;
      return {
        summary: `Applied proposal ${p.id} (${p.action} of '${p.model}', approved by ${p.decidedBy}): ${what} (event ${result.eventId}).`,
        data: { proposal: viewProposal(p, deps.clock()), applied_event_id: result.eventId, state: result.state, retrained },
      };
    },
  });
}
