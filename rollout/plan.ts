import { z } from "zod";

/**
 * A rollout plan: what a person approves when the agent proposes to retrain. Every stage names its
 * gate in figures; the server moves to the next stage only when the current gate passed, and a
 * failed gate ends the plan with the candidate taken out of traffic. Changing a gate is a new plan.
 */
export const stageNames = ["collect", "train", "shadow", "canary", "promote", "verify"] as const;
export type StageName = (typeof stageNames)[number];

const share = z.number().min(0).max(1);
const count = z.number().int().min(1).max(1_000_000);

export const gateSchemas = {
  collect: z.object({ minLabelledRows: count.describe("labelled, answered rows since the change point") }).strict(),
  train: z.object({}).strict(),
  shadow: z
    .object({
      percent: z.number().min(1).max(100),
      minLabelledPairs: count.describe("labelled requests answered by the primary and shadowed by the candidate before the first look"),
      looks: z.number().int().min(1).max(10).describe("the test is run at minLabelledPairs × 1, 2, …, looks"),
      minGainPts: z.number().min(0).max(50),
      alpha: z.number().gt(0).lt(0.5).describe("overall level; each look uses alpha / looks (Bonferroni), so looking early costs no validity"),
    })
    .strict(),
  canary: z
    .object({
      percent: z.number().min(1).max(99),
      minRows: count,
      maxErrorRateIncrease: share,
      maxP99Ratio: z.number().min(1).max(100),
      p99SlackMs: z.number().min(0).max(10_000),
      maxAccuracyDropPts: z.number().min(0).max(100),
    })
    .strict(),
  promote: z.object({}).strict(),
  verify: z.object({ minLabelledRows: count, maxAccuracyDropPts: z.number().min(0).max(100), maxErrorRate: share }).strict(),
} as const;

export const stageSchema = z.discriminatedUnion("name", [
  z.object({ name: z.literal("collect"), gate: gateSchemas.collect }).strict(),
  z.object({ name: z.literal("train"), gate: gateSchemas.train }).strict(),
  z.object({ name: z.literal("shadow"), gate: gateSchemas.shadow }).strict(),
  z.object({ name: z.literal("canary"), gate: gateSchemas.canary }).strict(),
  z.object({ name: z.literal("promote"), gate: gateSchemas.promote }).strict(),
  z.object({ name: z.literal("verify"), gate: gateSchemas.verify }).strict(),
]);
export type StageSpec = z.infer<typeof stageSchema>;
export type GateOf<N extends StageName> = Extract<StageSpec, { name: N }>["gate"];

/** The plan's shape: stages in this order, canary stages with rising shares. */
export const planSpecSchema = z
  .object({
    /** Post-change rows start here (µs); found from the log when the plan was proposed. */
    changeAtUs: z.number().int().nonnegative(),
    stages: z.array(stageSchema).min(1).max(12),
    /** Each stage that waits on traffic must pass within this many seconds of starting, or the plan fails. */
    stageDeadlineSeconds: z.number().int().min(60).max(30 * 86_400),
  })
  .strict()
  .superRefine((p, ctx) => {
    const order = p.stages.map((s) => stageNames.indexOf(s.name));
    if (order.some((o, i) => i > 0 && o < order[i - 1]!)) ctx.addIssue({ code: "custom", path: ["stages"], message: `stages must follow the order ${stageNames.join(" → ")}` });
    for (const name of ["collect", "train", "shadow", "promote", "verify"] as const) {
      if (p.stages.filter((s) => s.name === name).length !== 1) ctx.addIssue({ code: "custom", path: ["stages"], message: `a plan has exactly one ${name} stage` });
    }
    const canaries = p.stages.flatMap((s) => (s.name === "canary" ? [s.gate.percent] : []));
    if (canaries.some((c, i) => i > 0 && c <= canaries[i - 1]!)) ctx.addIssue({ code: "custom", path: ["stages"], message: "canary stages must raise the share each time" });
  });
export type PlanSpec = z.infer<typeof planSpecSchema>;

export type StageStatus = "pending" | "running" | "passed" | "failed" | "skipped";
export type PlanStatus = "running" | "completed" | "failed" | "aborted";

export interface StageState {
  status: StageStatus;
  startedAtUs: number;
  endedAtUs: number;
  /** The gate's latest figures, as a person would read them. */
  figures: Record<string, number | string | null>;
  note: string;
  /** shadow: looks taken so far. */
  looks: number;
}

export interface Plan {
  id: string;
  model: string;
  proposalId: string;
  approvalId: string;
  approvedBy: string;
  baseVersion: string;
  candidateVersion: string;
  spec: PlanSpec;
  stages: StageState[];
  current: number;
  status: PlanStatus;
  createdAtUs: number;
  updatedAtUs: number;
  /** Why it ended, when it has. */
  outcome: string;
}

export class PlanError extends Error {}

export function isTerminal(p: Plan): boolean {
  return p.status !== "running";
}

export function describeStage(s: StageSpec): string {
  switch (s.name) {
    case "collect":
      return `collect: wait for ${s.gate.minLabelledRows} labelled rows since the change point`;
    case "train":
      return "train: fit a candidate on the post-change rows plus the reference sample reweighted toward them";
    case "shadow":
      return `shadow: the candidate scores ${s.gate.percent}% of live requests unseen; pass when it is ≥ ${s.gate.minGainPts} points better on the same labelled requests, McNemar p < ${(s.gate.alpha / s.gate.looks).toPrecision(2)} per look at ${s.gate.minLabelledPairs}×1…${s.gate.looks} pairs`;
    case "canary":
      return `canary ${s.gate.percent}%: after ${s.gate.minRows} canary rows, error rate ≤ primary + ${(s.gate.maxErrorRateIncrease * 100).toFixed(1)} pts, p99 ≤ max(${s.gate.maxP99Ratio}× primary, primary + ${s.gate.p99SlackMs} ms), accuracy ≥ primary − ${s.gate.maxAccuracyDropPts} pts`;
    case "promote":
      return "promote: the candidate becomes primary; the base version shadows it while it is verified, and stays loaded for rollback";
    case "verify":
      return `verify: after ${s.gate.minLabelledRows} labelled rows, accuracy ≥ its shadow accuracy − ${s.gate.maxAccuracyDropPts} pts (or, if the population moved on, still better than the base version on the same requests) and error rate ≤ ${(s.gate.maxErrorRate * 100).toFixed(1)}%, else roll back`;
  }
}
