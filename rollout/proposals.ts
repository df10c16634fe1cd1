import { z } from "zod";
import type { Store } from "../store/client.ts";
import { nowMicros } from "../store/clock.ts";
import { banditPolicies, trafficStateSchema, type TrafficState } from "../store/deployments.ts";
import { proposalsTable, type ProposalRow } from "../store/proposals-table.ts";
import type { TrafficChange } from "./traffic-changes.ts";
import { planSpecSchema } from "../rollout/plan.ts";
import { iso } from "../format.ts";

export const proposalActions = ["rollback", "set_traffic_split", "promote", "retrain", "start_bandit", "stop_bandit"] as const;
export type ProposalAction = (typeof proposalActions)[number];

export const proposalParamsSchema = z.object({
  version: z.string().optional(),
  canaryPercent: z.number().optional(),
  shadowPercent: z.number().optional(),
  /** retrain: the version whose schema the candidate keeps, and the labelled traffic it learns from. */
  baseVersion: z.string().optional(),
  fromUs: z.number().optional(),
  toUs: z.number().optional(),
  /** retrain: the rollout plan a person approves with it. */
  plan: planSpecSchema.optional(),
  /** start_bandit: the arms and how traffic is shared among them (rollout/traffic-changes.ts). */
  versions: z.array(z.string()).optional(),
  policy: z.enum(banditPolicies).optional(),
  floorPercent: z.number().optional(),
  latencyPenaltyPerMs: z.number().optional(),
  seed: z.number().int().optional(),
});
export type ProposalParams = z.infer<typeof proposalParamsSchema>;

/** Stored statuses; "expired" is derived from expires_at and never stored. "superseded": a person edited it into another proposal. */
export type StoredStatus = "pending" | "approved" | "rejected" | "superseded" | "applying" | "applied" | "failed";
export type ProposalStatus = StoredStatus | "expired";
export const proposalStatuses = ["pending", "approved", "rejected", "superseded", "applying", "applied", "failed", "expired"] as const;

export interface Proposal {
  id: string;
  model: string;
  action: ProposalAction;
  params: ProposalParams;
  reason: string;
  proposedBy: string;
  /** Microseconds since the epoch, as every time here. */
  createdAt: number;
  expiresAt: number;
  /** The traffic event the effect was computed from; applying refuses if the state has moved on. */
  baseEventId: string;
  before: TrafficState;
  /** null: the action changes no traffic (retrain). */
  after: TrafficState | null;
  status: StoredStatus;
  approvalId: string;
  decidedBy: string;
  decisionReason: string;
  decidedAt: number;
  appliedBy: string;
  appliedEventId: string;
  error: string;
  /** The proposal a person's edit replaced this one with; '' unless superseded. */
  supersededBy: string;
}

export type ProposalEvent =
  | { type: "approve"; by: string; reason: string; approvalId: string }
  | { type: "reject"; by: string; reason: string }
  /** A person's edit: the edited proposal (already stored, pending) takes this one's place. */
  | { type: "supersede"; by: string; reason: string; supersededBy: string }
  | { type: "begin_apply"; by: string }
  | { type: "applied"; eventId: string }
  /** retryable: nothing changed and the approval still stands (the admin API was unreachable). */
  | { type: "apply_failed"; error: string; retryable: boolean };

/** A refused transition: the message says why and what to do instead. */
export class ProposalError extends Error {}

export class UnknownProposalError extends ProposalError {}

export function effectiveStatus(p: Proposal, nowUs: number): ProposalStatus {
  return (p.status === "pending" || p.status === "approved") && nowUs >= p.expiresAt ? "expired" : p.status;
}

/**
 * The whole approval gate as a pure function: pending → approved | rejected | superseded; approved →
 * applying → applied | failed (or back to approved when nothing happened). Expiry closes pending and
 * approved proposals; rejected, superseded, applied, failed and expired are final.
 */
export function transition(p: Proposal, e: ProposalEvent, nowUs: number): Proposal {
  const status = effectiveStatus(p, nowUs);
  switch (e.type) {
    case "approve":
      if (status !== "pending") throw new ProposalError(`${refusal(p, status)}; only a pending proposal can be approved`);
      return { ...p, status: "approved", approvalId: e.approvalId, decidedBy: e.by, decisionReason: e.reason, decidedAt: nowUs };
    case "reject":
      if (status !== "pending" && status !== "approved") throw new ProposalError(`${refusal(p, status)}; only a pending or approved proposal can be rejected`);
      return { ...p, status: "rejected", decidedBy: e.by, decisionReason: e.reason, decidedAt: nowUs };
    case "supersede":
      if (status !== "pending") throw new ProposalError(`${refusal(p, status)}; only a pending proposal can be edited`);
      return { ...p, status: "superseded", supersededBy: e.supersededBy, decidedBy: e.by, decisionReason: e.reason, decidedAt: nowUs };
    case "begin_apply":
      assertApplicable(p, nowUs);
      return { ...p, status: "applying", appliedBy: e.by, error: "" };
    case "applied":
      if (p.status !== "applying") throw new ProposalError(`proposal ${p.id} is ${status}, not being applied`);
      return { ...p, status: "applied", appliedEventId: e.eventId, error: "" };
    case "apply_failed":
      if (p.status !== "applying") throw new ProposalError(`proposal ${p.id} is ${status}, not being applied`);
      return { ...p, status: e.retryable ? "approved" : "failed", error: e.error };
  }
}

/** Throws unless a person approved `p` and nothing since has closed it. */
export function assertApplicable(p: Proposal, nowUs: number): void {
  const status = effectiveStatus(p, nowUs);
  if (status === "approved") return;
  if (status === "pending") {
    throw new ProposalError(`proposal ${p.id} has not been approved by a person; ask one to run \`mlwatch approve ${p.id}\` (or reject it)`);
  }
  throw new ProposalError(`${refusal(p, status)}; it can never be applied`);
}

function refusal(p: Proposal, status: ProposalStatus): string {
  switch (status) {
    case "rejected":
      return `proposal ${p.id} was rejected by ${p.decidedBy}${p.decisionReason ? ` (${p.decisionReason})` : ""}`;
    case "superseded":
      return `proposal ${p.id} was edited by ${p.decidedBy} into proposal ${p.supersededBy}`;
    case "expired":
      return `proposal ${p.id} expired at ${iso(p.expiresAt)}; propose again if it is still wanted`;
    case "applied":
      return `proposal ${p.id} was already applied (event ${p.appliedEventId})`;
    case "applying":
      return `proposal ${p.id} is being applied right now by ${p.appliedBy}`;
    case "failed":
      return `proposal ${p.id} failed when applied (${p.error}); propose again against the current state`;
    default:
      return `proposal ${p.id} is ${status}`;
  }
}

/** The admin API change a proposal makes; null for actions that change no traffic. */
export function trafficChangeOf(action: ProposalAction, params: ProposalParams): TrafficChange | null {
  switch (action) {
    case "rollback":
      return { action: "rollback", version: params.version };
    case "promote":
      return { action: "promote", version: params.version };
    case "set_traffic_split":
      return { action: "set_split", canaryPercent: params.canaryPercent, shadowPercent: params.shadowPercent };
    case "start_bandit":
      return {
        action: "start_bandit",
        versions: params.versions ?? [],
        policy: params.policy,
        floorPercent: params.floorPercent,
        latencyPenaltyPerMs: params.latencyPenaltyPerMs,
        seed: params.seed,
      };
    case "stop_bandit":
      return { action: "stop_bandit" };
    case "retrain":
      return null;
  }
}

// ---- store ----------------------------------------------------------------------------------

export async function insertProposal(store: Store, p: Proposal): Promise<void> {
  await store.insert(proposalsTable.name, [toRow(p)]);
}

export async function readProposal(store: Store, id: string): Promise<Proposal | undefined> {
  const rows = await store.rows<ProposalRow>(`${selectProposals(store)} WHERE proposal_id = {id:String}`, { id });
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export async function getProposal(store: Store, id: string): Promise<Proposal> {
  const p = await readProposal(store, id);
  if (!p) throw new UnknownProposalError(`unknown proposal '${id}'`);
  return p;
}

export interface ProposalQuery {
  model?: string;
  status?: ProposalStatus;
  nowUs: number;
  limit: number;
  offset: number;
}

/** Newest first. */
export async function listProposals(store: Store, q: ProposalQuery): Promise<Proposal[]> {
  const where = ["1"];
  if (q.model) where.push("model = {model:String}");
  // Over the subquery every time column is µs since the epoch.
  if (q.status === "expired") where.push("status IN ('pending', 'approved') AND expires_at <= {now:Int64}");
  else if (q.status === "pending" || q.status === "approved") where.push("status = {status:String} AND expires_at > {now:Int64}");
  else if (q.status) where.push("status = {status:String}");
  const rows = await store.rows<ProposalRow>(
    `SELECT * FROM (${selectProposals(store)}) WHERE ${where.join(" AND ")} ORDER BY created_at DESC, proposal_id LIMIT {limit:UInt32} OFFSET {offset:UInt32}`,
    { model: q.model ?? "", status: q.status ?? "", now: q.nowUs, limit: q.limit, offset: q.offset },
  );
  return rows.map(fromRow);
}

const locks = new Map<string, Promise<unknown>>();

/**
 * Read, transition, write — serialised per proposal within this process, so two calls here can
 * never both move it out of "approved". Across processes the admin API's expected_event_id check
 * stops the second of two applies (ClickHouse has no transactions).
 */
export async function updateProposal(store: Store, id: string, event: ProposalEvent, nowUs: number): Promise<{ before: Proposal; after: Proposal }> {
  const previous = locks.get(id) ?? Promise.resolve();
  const run = previous.then(async () => {
    const before = await getProposal(store, id);
    const after = transition(before, event, nowUs);
    await insertProposal(store, after);
    return { before, after };
  });
  const settled = run.catch(() => undefined);
  locks.set(id, settled);
  void settled.then(() => {
    if (locks.get(id) === settled) locks.delete(id);
  });
  return run;
}

function selectProposals(store: Store): string {
  return `SELECT * EXCEPT (created_at, expires_at, decided_at, updated_at),
            toUnixTimestamp64Micro(created_at) AS created_at, toUnixTimestamp64Micro(expires_at) AS expires_at,
            toUnixTimestamp64Micro(decided_at) AS decided_at, toUnixTimestamp64Micro(updated_at) AS updated_at
     FROM ${store.table(proposalsTable.name)} FINAL`;
}

function toRow(p: Proposal): ProposalRow {
  return {
    proposal_id: p.id,
    model: p.model,
    action: p.action,
    params: JSON.stringify(p.params),
    reason: p.reason,
    proposed_by: p.proposedBy,
    created_at: p.createdAt,
    expires_at: p.expiresAt,
    base_event_id: p.baseEventId,
    state_before: JSON.stringify(p.before),
    state_after: p.after ? JSON.stringify(p.after) : "",
    status: p.status,
    approval_id: p.approvalId,
    decided_by: p.decidedBy,
    decision_reason: p.decisionReason,
    decided_at: p.decidedAt,
    applied_by: p.appliedBy,
    applied_event_id: p.appliedEventId,
    error: p.error,
    superseded_by: p.supersededBy,
    // The store clock is strictly increasing within a process: the newest write wins.
    updated_at: nowMicros(),
  };
}

function fromRow(r: ProposalRow): Proposal {
  return {
    id: r.proposal_id,
    model: r.model,
    action: r.action as ProposalAction,
    params: proposalParamsSchema.parse(JSON.parse(r.params)),
    reason: r.reason,
    proposedBy: r.proposed_by,
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
    baseEventId: r.base_event_id,
    before: trafficStateSchema.parse(JSON.parse(r.state_before)),
    after: r.state_after ? trafficStateSchema.parse(JSON.parse(r.state_after)) : null,
    status: r.status as StoredStatus,
    approvalId: r.approval_id,
    decidedBy: r.decided_by,
    decisionReason: r.decision_reason,
    decidedAt: Number(r.decided_at),
    appliedBy: r.applied_by,
    appliedEventId: r.applied_event_id,
    error: r.error,
    supersededBy: r.superseded_by,
  };
}
