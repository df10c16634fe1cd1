import { randomUUID } from "node:crypto";
import type { Store } from "../store/client.ts";
import { currentTrafficState, deploymentHistory, recordDeploymentEvent, type TrafficState } from "../store/deployments.ts";
import { findChangePoint } from "../analysis/change-point.ts";
import { getAccuracy } from "../analysis/index.ts";
import { getVersion } from "../models/registry.ts";
import { labelsNeeded } from "../rollout/gates.ts";
import { defaultPlanSpec, newPlan } from "../rollout/new-plan.ts";
import type { Plan, PlanSpec } from "../rollout/plan.ts";
import { listPlans, savePlan } from "../rollout/plan-store.ts";
import { nowMicros } from "../store/clock.ts";
import { advancePlan } from "./rollout-runner.ts";
import { assertKnownModel } from "./models.ts";
import { applyChange, versionsIn } from "../rollout/traffic-changes.ts";
import { AdminApiError, postTrafficChange } from "../rollout/admin-client.ts";
import {
  insertProposal,
  ProposalError,
  trafficChangeOf,
  updateProposal,
  type Proposal,
  type ProposalAction,
  type ProposalParams,
} from "../rollout/proposals.ts";

/**
 * The approval gate's operations, shared by the MCP tools, the approver HTTP route and
 * `mlwatch approve`. Each writes its event to the `deployments` audit log with the proposal id
 * (and the approval id once there is one); the apply itself is the admin API's traffic event.
 */

export interface ProposeInput {
  model: string;
  action: ProposalAction;
  version?: string;
  canaryPercent?: number;
  shadowPercent?: number;
  /** retrain only: the labelled traffic to learn from, fixed now; default the 24 h before the proposal. */
  window?: { fromUs: number; toUs: number };
  /** retrain only: stages and gates other than the default plan's (validated against the plan schema). */
  plan?: PlanSpec;
  /** start_bandit only: the arms and how they share traffic. */
  bandit?: Pick<ProposalParams, "versions" | "policy" | "floorPercent" | "latencyPenaltyPerMs" | "seed">;
  reason: string;
}

/** Default training window of a retrain proposal. */
export const RETRAIN_WINDOW_SECONDS = 86_400;

export async function propose(store: Store, input: ProposeInput, by: string, nowUs: number, ttlSeconds: number): Promise<Proposal> {
  await assertKnownModel(store, input.model);
  const current = await currentTrafficState(store, input.model);
  const params = paramsOf(input, current.state, nowUs);
  if (input.action === "retrain") {
    await assertNoRunningPlan(store, input.model);
    params.plan = input.plan ?? (await proposedPlan(store, input.model, params.baseVersion!, { fromUs: params.fromUs!, toUs: params.toUs! }, nowUs));
  }
  const change = trafficChangeOf(input.action, params);
  let after: TrafficState | null = null;
  if (change) {
    after = applyChange(current.state, change);
    for (const v of versionsIn(after)) await getVersion(store, input.model, v);
  }
  const proposal: Proposal = {
    id: randomUUID(),
    model: input.model,
    action: input.action,
    params,
    reason: input.reason,
    proposedBy: by,
    createdAt: nowUs,
    expiresAt: nowUs + ttlSeconds * 1_000_000,
    baseEventId: current.eventId ?? "",
    before: current.state,
    after,
    status: "pending",
    approvalId: "",
    decidedBy: "",
    decisionReason: "",
    decidedAt: 0,
    appliedBy: "",
    appliedEventId: "",
    error: "",
    supersededBy: "",
  };
  await insertProposal(store, proposal);
  await recordDeploymentEvent(store, {
    model: input.model,
    action: "propose",
    version: params.version,
    actor: by,
    reason: `${input.action}: ${input.reason}`,
    proposalId: proposal.id,
  });
  return proposal;
}

export interface Decision {
  approve: boolean;
  /** The person deciding. */
  by: string;
  reason: string;
}

/** Told of each decision a person made, so a run of the same process waiting on the proposal goes on. */
export type OnDecision = (proposalId: string, decision: { decision: "approve" | "reject" | "edit"; by: string; reason: string; proposalId?: string }) => void;

export async function decide(store: Store, id: string, d: Decision, nowUs: number): Promise<Proposal> {
  const event = d.approve
    ? ({ type: "approve", by: d.by, reason: d.reason, approvalId: randomUUID() } as const)
    : ({ type: "reject", by: d.by, reason: d.reason } as const);
  const { after } = await updateProposal(store, id, event, nowUs);
  await recordDeploymentEvent(store, {
    model: after.model,
    action: d.approve ? "approve" : "reject",
    version: after.params.version,
    actor: d.by,
    reason: d.reason || (d.approve ? "approved" : "rejected"),
    proposalId: after.id,
    approvalId: after.approvalId,
  });
  return after;
}

export interface ApplyTarget {
  store: Store;
  inferenceUrl: string;
  adminToken: string | undefined;
  config: { modelDir: string };
}

export interface Applied {
  proposal: Proposal;
  eventId: string;
  state: TrafficState;
  /** The rollout plan an approved retrain started; null for traffic changes. */
  plan: Plan | null;
}

/**
 * Applies an approved proposal. A traffic change goes through the admin API with expected_event_id =
 * the event the proposal was computed from, so a state that moved meanwhile (another agent, an
 * automatic rollback) is refused with 409 instead of being half-overwritten. A retrain starts its
 * rollout plan, whose stages train, shadow, canary and promote as their gates pass.
 */
export async function apply(target: ApplyTarget, id: string, by: string, nowUs: number): Promise<Applied> {
  const { store } = target;
  const { after: p } = await updateProposal(store, id, { type: "begin_apply", by }, nowUs);
  const change = trafficChangeOf(p.action, p.params);
  if (!change) return startRollout(target, p, by, nowUs);
  try {
    const result = await postTrafficChange(target.inferenceUrl, target.adminToken, p.model, change, {
      actor: by,
      reason: adminReason(p),
      proposalId: p.id,
      approvalId: p.approvalId,
      expectedEventId: p.baseEventId,
    });
    const { after } = await updateProposal(store, id, { type: "applied", eventId: result.eventId }, nowUs);
    return { proposal: after, eventId: result.eventId, state: result.state, plan: null };
  } catch (err) {
    const uncertain = !(err instanceof AdminApiError) || err.status === null || err.status >= 500;
    const landed = uncertain ? await appliedEvent(store, p) : undefined;
    if (landed) {
      const { after } = await updateProposal(store, id, { type: "applied", eventId: landed.eventId }, nowUs);
      return { proposal: after, eventId: landed.eventId, state: landed.state, plan: null };
    }
    // Unreachable or refused credentials change nothing: the approval stands and a retry is safe,
    // because expected_event_id refuses it if the first attempt did land after all.
    const retryable = uncertain || (err instanceof AdminApiError && (err.status === 401 || err.status === 403));
    const message = await recordFailure(store, p, by, err, retryable, nowUs);
    if (err instanceof AdminApiError && err.status === 409) {
      throw new ProposalError(
        `nothing was applied: the traffic of '${p.model}' changed after proposal ${p.id} was made (it was based on event ${p.baseEventId || "(none)"}). ` +
          `The proposal is now failed; read the current state and propose again`,
      );
    }
    throw new ProposalError(`nothing was applied${retryable ? " (the approval stands; apply again once fixed)" : "; the proposal is now failed"}: ${message}`);
  }
}

/** An approved retrain starts its rollout plan; the plan's stages do the training and the traffic changes. */
async function startRollout(target: ApplyTarget, p: Proposal, by: string, nowUs: number): Promise<Applied> {
  const { store } = target;
  try {
    if (!p.params.baseVersion || !p.params.plan) throw new ProposalError(`proposal ${p.id} lacks its base version or rollout plan`);
    await assertNoRunningPlan(store, p.model);
  } catch (err) {
    await recordFailure(store, p, by, err, false, nowUs);
    throw err;
  }
  const plan = newPlan(p.params.plan, { model: p.model, proposalId: p.id, approvalId: p.approvalId, approvedBy: p.decidedBy, baseVersion: p.params.baseVersion }, nowUs);
  await savePlan(store, plan);
  const event = await recordDeploymentEvent(store, {
    model: p.model,
    action: "rollout_start",
    version: p.params.baseVersion,
    actor: by,
    reason: `plan ${plan.id}: ${plan.spec.stages.map((s) => s.name).join(" → ")} ${adminReason(p)}`.slice(0, 4000),
    proposalId: p.id,
    approvalId: p.approvalId,
  });
  const { after } = await updateProposal(store, p.id, { type: "applied", eventId: event.eventId }, nowUs);
  const advanced = await advancePlan(target, plan.id, nowMicros);
  return { proposal: after, eventId: event.eventId, state: (await currentTrafficState(store, p.model)).state, plan: advanced };
}

async function assertNoRunningPlan(store: Store, model: string): Promise<void> {
  const [running] = await listPlans(store, { model, status: "running", limit: 1 });
  if (running) throw new ProposalError(`rollout plan ${running.id} is still running for '${model}' (stage ${running.spec.stages[running.current]!.name}); abort it or wait for it to end before another`);
}

/** The plan a retrain proposal carries: post-change rows start at the change point the log shows, and enough of them are collected for the effect seen. */
async function proposedPlan(store: Store, model: string, baseVersion: string, window: { fromUs: number; toUs: number }, nowUs: number): Promise<PlanSpec> {
  const report = await findChangePoint(store, { model, version: baseVersion, window }, nowUs);
  const changeAtUs = report.change?.atUs ?? window.fromUs;
  const [base, acc] = await Promise.all([getVersion(store, model, baseVersion), getAccuracy(store, { model, version: baseVersion, window: { fromUs: changeAtUs, toUs: window.toUs } })]);
  const reference = typeof base.metrics.accuracy === "number" ? base.metrics.accuracy : null;
  return defaultPlanSpec(changeAtUs, labelsNeeded(reference, acc.accuracy));
}

async function recordFailure(store: Store, p: Proposal, by: string, err: unknown, retryable: boolean, nowUs: number): Promise<string> {
  const message = err instanceof Error ? err.message : String(err);
  await updateProposal(store, p.id, { type: "apply_failed", error: message, retryable }, nowUs);
  await recordDeploymentEvent(store, {
    model: p.model,
    action: "apply_failed",
    version: p.params.version,
    actor: by,
    reason: message.slice(0, 1000),
    proposalId: p.id,
    approvalId: p.approvalId,
  });
  return message;
}

/** The admin API takes at most 2000 characters of reason; the ids travel in their own fields. */
function adminReason(p: Proposal): string {
  const suffix = ` [proposal ${p.id}, approved by ${p.decidedBy}]`.slice(0, 400);
  const room = 2000 - suffix.length;
  return (p.reason.length > room ? `${p.reason.slice(0, room - 1)}…` : p.reason) + suffix;
}

/** The traffic event that carries this proposal's id, if the admin API recorded one. */
async function appliedEvent(store: Store, p: Proposal): Promise<{ eventId: string; state: TrafficState } | undefined> {
  const events = await deploymentHistory(store, p.model, 1000);
  const e = events.find((ev) => ev.proposalId === p.id && ev.state !== null);
  return e && e.state ? { eventId: e.eventId, state: e.state } : undefined;
}

function paramsOf(input: ProposeInput, state: TrafficState, nowUs: number): ProposalParams {
  const hasSplit = input.canaryPercent !== undefined || input.shadowPercent !== undefined;
  if (input.window && input.action !== "retrain") throw new ProposalError(`${input.action} takes no window (only retrain does)`);
  if (input.bandit && input.action !== "start_bandit") throw new ProposalError(`${input.action} takes no versions, policy, floorPercent, latencyPenaltyPerMs or seed (only start_bandit does)`);
  if (input.action === "start_bandit" || input.action === "stop_bandit") {
    if (hasSplit || input.version !== undefined) throw new ProposalError(`${input.action} takes no version, canaryPercent or shadowPercent${input.action === "start_bandit" ? " (name the arms in versions)" : ""}`);
    if (input.action === "stop_bandit") return {};
    if (!input.bandit?.versions) throw new ProposalError("start_bandit needs versions: the arms, at least two distinct versions");
    return { ...input.bandit };
  }
  if (input.action === "set_traffic_split") {
    if (!hasSplit) throw new ProposalError("set_traffic_split needs canaryPercent or shadowPercent");
    if (input.version !== undefined) throw new ProposalError("set_traffic_split takes no version: it changes the shares of the current canary and shadow");
    return { canaryPercent: input.canaryPercent, shadowPercent: input.shadowPercent };
  }
  if (hasSplit) throw new ProposalError(`${input.action} takes no canaryPercent or shadowPercent (use set_traffic_split)`);
  if (input.action === "retrain") {
    if (input.version !== undefined) throw new ProposalError("retrain takes no version: it trains a new one from recent labelled traffic");
    if (!state.primary) throw new ProposalError("retrain needs a primary version whose schema the new version keeps; none is deployed");
    const window = input.window ?? { fromUs: nowUs - RETRAIN_WINDOW_SECONDS * 1_000_000, toUs: nowUs };
    return { baseVersion: state.primary, fromUs: window.fromUs, toUs: window.toUs };
  }
  return input.version === undefined ? {} : { version: input.version };
}
