import { z } from "zod";
import { describeStage, planSpecSchema, type Plan } from "./plan.ts";

/** A plan as every tool returns it and the agent reads it: the stored plan plus each stage in words. */
export const planViewSchema = z.object({
  id: z.string(),
  model: z.string(),
  proposalId: z.string(),
  approvalId: z.string(),
  approvedBy: z.string(),
  baseVersion: z.string(),
  candidateVersion: z.string().describe("'' until the train stage has registered it"),
  spec: planSpecSchema,
  stages: z.array(
    z.object({
      name: z.string(),
      gate: z.string().describe("the gate in words"),
      status: z.enum(["pending", "running", "passed", "failed", "skipped"]),
      startedAtUs: z.number(),
      endedAtUs: z.number(),
      figures: z.record(z.string(), z.union([z.number(), z.string(), z.null()])),
      note: z.string(),
      looks: z.number(),
    }),
  ),
  current: z.number().int(),
  status: z.enum(["running", "completed", "failed", "aborted"]),
  createdAtUs: z.number(),
  updatedAtUs: z.number(),
  outcome: z.string(),
  progress: z.string().describe("one line: where the plan is and what it waits for"),
});
export type PlanView = z.infer<typeof planViewSchema>;

export function viewPlan(p: Plan): PlanView {
  return {
    ...p,
    stages: p.stages.map((s, i) => ({ name: p.spec.stages[i]!.name, gate: describeStage(p.spec.stages[i]!), ...s })),
    progress: progressOf(p),
  };
}

export function progressOf(p: Plan): string {
  if (p.status !== "running") return `${p.status}: ${p.outcome}`;
  const spec = p.spec.stages[p.current]!;
  const state = p.stages[p.current]!;
  const label = spec.name === "canary" ? `canary ${spec.gate.percent}%` : spec.name;
  return `stage ${p.current + 1}/${p.spec.stages.length} ${label} (${state.status})${state.note ? `: ${state.note}` : ""}`;
}
