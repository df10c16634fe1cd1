import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { planViewSchema, viewPlan } from "../../rollout/plan-view.ts";
import type { ToolDeps } from "../deps.ts";
import { abortPlan } from "../rollout-runner.ts";
import { registerToolSpec } from "../tool-kit.ts";

/** Aborting only ever takes a candidate out of traffic, so an agent relaying a person's word may do it too. */
export function registerAbortRolloutTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "abort_rollout",
    title: "Abort a rollout plan",
    description:
      "Stops a running rollout plan at its current stage and takes the candidate out of traffic (shadow and canary removed; after " +
      "promotion, back to the base version). Recorded in the audit log with who and why.",
    input: z
      .object({
        plan_id: z.string().min(1).max(100),
        by: z.string().min(1).max(200).optional().describe("The person asking (default: the caller's credential)."),
        reason: z.string().min(1).max(2000),
      })
      .strict(),
    output: planViewSchema,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    async run({ plan_id, by, reason }) {
      const view = viewPlan(await abortPlan(deps, plan_id, by ?? deps.principal.name, reason, deps.clock()));
      return { summary: `Rollout plan ${plan_id} of '${view.model}': ${view.progress}.`, data: view };
    },
  });
}
