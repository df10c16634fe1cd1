import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { planViewSchema, viewPlan } from "../../rollout/plan-view.ts";
import { getPlan, listPlans } from "../../rollout/plan-store.ts";
import type { ToolDeps } from "../deps.ts";
import { ToolError } from "../tool-error.ts";
import { readOnly, registerToolSpec } from "../tool-kit.ts";

export function registerGetRolloutTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "get_rollout",
    title: "Get a rollout plan",
    description:
      "A rollout plan with each stage's gate (in words and figures), status and latest figures: by plan_id, or the newest plan of `model`. " +
      "Read-only: it does not move the plan (advance_rollout does).",
    input: z.object({ plan_id: z.string().min(1).max(100).optional(), model: z.string().min(1).max(64).optional() }).strict(),
    output: planViewSchema,
    annotations: readOnly,
    async run({ plan_id, model }) {
      if (!plan_id && !model) throw new ToolError("get_rollout needs plan_id or model");
      const plan = plan_id ? await getPlan(deps.store, plan_id) : (await listPlans(deps.store, { model: model!, limit: 1 }))[0];
      if (!plan) throw new ToolError(`model '${model}' has no rollout plan`);
      const view = viewPlan(plan);
      return { summary: `Rollout plan ${plan.id} of '${plan.model}': ${view.progress}.`, data: view };
    },
  });
}
