import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { planViewSchema, viewPlan } from "../../rollout/plan-view.ts";
import type { ToolDeps } from "../deps.ts";
import { advancePlan } from "../rollout-runner.ts";
import { registerToolSpec } from "../tool-kit.ts";

export function registerAdvanceRolloutTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "advance_rollout",
    title: "Advance a rollout plan",
    description:
      "Moves an approved rollout plan on as far as its gates allow, right now: the server reads the current stage's gate from the log, " +
      "passes it or waits, and on a failed gate or a passed deadline ends the plan and takes the candidate out of traffic. The caller " +
      "cannot skip a stage or change a gate (that is a new proposal). Call it periodically until the plan is completed, failed or aborted.",
    input: z.object({ plan_id: z.string().min(1).max(100) }).strict(),
    output: planViewSchema,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
    onDeadline: "the stage may still complete in the background: read get_rollout, then call advance_rollout again",
    async run({ plan_id }) {
      const view = viewPlan(await advancePlan(deps, plan_id, deps.clock));
      return { summary: `Rollout plan ${plan_id} of '${view.model}': ${view.progress}.`, data: view };
    },
  });
}
