import { z } from "zod";
import { trafficStateSchema, type TrafficState } from "../store/deployments.ts";
import { describeStage } from "../rollout/plan.ts";
import { effectiveStatus, proposalActions, proposalStatuses, type Proposal } from "../rollout/proposals.ts";
import { iso } from "../format.ts";

/** How every tool shows a proposal: times as ISO strings, the derived status, the effect in words. */
export const proposalViewSchema = z.object({
  proposal_id: z.string(),
  model: z.string(),
  action: z.enum(proposalActions),
  params: z.object({
    version: z.string().optional(),
    canary_percent: z.number().optional(),
    shadow_percent: z.number().optional(),
    base_version: z.string().optional().describe("retrain: the version whose schema the new one keeps"),
    train_from: z.string().optional().describe("retrain: start of the labelled traffic it learns from"),
    train_to: z.string().optional(),
    plan: z
      .object({ change_at: z.string().describe("where the post-change rows begin, found from the log"), stages: z.array(z.string()).describe("each stage with its gate in figures"), stage_deadline_seconds: z.number() })
      .optional()
      .describe("retrain: the rollout plan approved with it"),
    versions: z.array(z.string()).optional().describe("start_bandit: the arms"),
    policy: z.string().optional(),
    floor_percent: z.number().optional(),
    latency_penalty_per_ms: z.number().optional(),
    seed: z.number().optional(),
  }),
  reason: z.string(),
  proposed_by: z.string(),
  status: z.enum(proposalStatuses),
  created_at: z.string(),
  expires_at: z.string(),
  based_on_event_id: z.string().describe("The traffic event the effect was computed from; applying refuses if traffic has moved on since."),
  current_state: trafficStateSchema.describe("Traffic state when proposed."),
  resulting_state: trafficStateSchema.nullable().describe("Traffic state after applying; null when traffic does not change."),
  effect: z.string(),
  approval_id: z.string().nullable(),
  decided_by: z.string().nullable(),
  decision_reason: z.string().nullable(),
  decided_at: z.string().nullable(),
  applied_by: z.string().nullable(),
  applied_event_id: z.string().nullable(),
  error: z.string().nullable(),
  superseded_by: z.string().nullable().describe("The proposal a person's edit replaced this one with (status superseded)."),
});
export type ProposalView = z.infer<typeof proposalViewSchema>;

export function viewProposal(p: Proposal, nowUs: number): ProposalView {
  const orNull = (s: string) => (s === "" ? null : s);
  return {
    proposal_id: p.id,
    model: p.model,
    action: p.action,
    params: {
      ...(p.params.version !== undefined ? { version: p.params.version } : {}),
      ...(p.params.canaryPercent !== undefined ? { canary_percent: p.params.canaryPercent } : {}),
      ...(p.params.shadowPercent !== undefined ? { shadow_percent: p.params.shadowPercent } : {}),
      ...(p.params.baseVersion !== undefined ? { base_version: p.params.baseVersion } : {}),
      ...(p.params.fromUs !== undefined ? { train_from: iso(p.params.fromUs) } : {}),
      ...(p.params.toUs !== undefined ? { train_to: iso(p.params.toUs) } : {}),
      ...(p.params.versions ? { versions: p.params.versions } : {}),
      ...(p.params.policy ? { policy: p.params.policy } : {}),
      ...(p.params.floorPercent !== undefined ? { floor_percent: p.params.floorPercent } : {}),
      ...(p.params.latencyPenaltyPerMs !== undefined ? { latency_penalty_per_ms: p.params.latencyPenaltyPerMs } : {}),
      ...(p.params.seed !== undefined ? { seed: p.params.seed } : {}),
      ...(p.params.plan ? { plan: { change_at: iso(p.params.plan.changeAtUs), stages: p.params.plan.stages.map(describeStage), stage_deadline_seconds: p.params.plan.stageDeadlineSeconds } } : {}),
    },
    reason: p.reason,
    proposed_by: p.proposedBy,
    status: effectiveStatus(p, nowUs),
    created_at: iso(p.createdAt),
    expires_at: iso(p.expiresAt),
    based_on_event_id: p.baseEventId,
    current_state: p.before,
    resulting_state: p.after,
    effect: effectOf(p),
    approval_id: orNull(p.approvalId),
    decided_by: orNull(p.decidedBy),
    decision_reason: orNull(p.decisionReason),
    decided_at: p.decidedAt > 0 ? iso(p.decidedAt) : null,
    applied_by: orNull(p.appliedBy),
    applied_event_id: orNull(p.appliedEventId),
    error: orNull(p.error),
    superseded_by: orNull(p.supersededBy),
  };
}

export function effectOf(p: Proposal): string {
  if (!p.after) {
    const plan = p.params.plan;
    const since = plan ? ` since the change at ${iso(plan.changeAtUs)}` : "";
    const stages = plan ? `; rollout plan: ${plan.stages.map((s) => (s.name === "canary" ? `canary ${s.gate.percent}%` : s.name)).join(" → ")}, each stage only when its gate passes` : "";
    return `train a new version of '${p.model}' (schema of v${p.params.baseVersion ?? "?"}) on its labelled traffic${since}${stages}; traffic stays ${describeState(p.before)} until then`;
  }
  return `${describeState(p.before)}  →  ${describeState(p.after)}`;
}

export function describeState(s: TrafficState): string {
  const role = (r: { version: string; percent: number } | null) => (r ? `v${r.version} at ${r.percent}%` : "none");
  const bandit = s.bandit ? `, bandit (${s.bandit.policy}, floor ${s.bandit.floorPercent}%) over ${s.bandit.arms.map((v) => `v${v}`).join(", ")}` : "";
  return `primary ${s.primary ? `v${s.primary}` : "none"}, canary ${role(s.canary)}, shadow ${role(s.shadow)}${bandit}`;
}
