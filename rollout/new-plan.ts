import { randomUUID } from "node:crypto";
import type { Plan, PlanSpec } from "./plan.ts";

/**
 * The stages and gates the agent proposes by default. Shadow on all requests (the candidate answers
 * nobody, so the only cost is CPU) gives the paired test the most rows soonest; two canary steps
 * let errors and latency show on real answers before everyone gets them.
 */
export function defaultPlanSpec(changeAtUs: number, labelsNeeded: number): PlanSpec {
  return {
    changeAtUs,
    stageDeadlineSeconds: 6 * 3600,
    stages: [
      { name: "collect", gate: { minLabelledRows: labelsNeeded } },
      { name: "train", gate: {} },
      { name: "shadow", gate: { percent: 100, minLabelledPairs: 250, looks: 4, minGainPts: 1, alpha: 0.05 } },
      { name: "canary", gate: { percent: 10, minRows: 50, maxErrorRateIncrease: 0.01, maxP99Ratio: 2, p99SlackMs: 20, maxAccuracyDropPts: 5 } },
      { name: "canary", gate: { percent: 50, minRows: 150, maxErrorRateIncrease: 0.01, maxP99Ratio: 2, p99SlackMs: 20, maxAccuracyDropPts: 5 } },
      { name: "promote", gate: {} },
      { name: "verify", gate: { minLabelledRows: 200, maxAccuracyDropPts: 3, maxErrorRate: 0.02 } },
    ],
  };
}

export interface PlanApproval {
  model: string;
  proposalId: string;
  approvalId: string;
  approvedBy: string;
  baseVersion: string;
}

export function newPlan(spec: PlanSpec, a: PlanApproval, nowUs: number): Plan {
  return {
    id: randomUUID(),
    ...a,
    candidateVersion: "",
    spec,
    stages: spec.stages.map(() => ({ status: "pending", startedAtUs: 0, endedAtUs: 0, figures: {}, note: "", looks: 0 })),
    current: 0,
    status: "running",
    createdAtUs: nowUs,
    updatedAtUs: nowUs,
    outcome: "",
  };
}
