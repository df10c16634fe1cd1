import { randomUUID } from "node:crypto";
import { z } from "zod";
import type { Store } from "./client.ts";
import { nowMicros } from "./clock.ts";
import { deploymentsTable, type DeploymentEventRow } from "./tables.ts";

export const banditPolicies = ["thompson", "ucb"] as const;
export type BanditPolicy = (typeof banditPolicies)[number];

/**
 * A bandit over versions: the served traffic is split among `arms` by their observed reward since
 * `sinceUs` (rollout/bandit.ts), each keeping at least floorPercent. The allocation itself is not
 * stored: every replica derives the same one from the store's counts and the seed.
 */
export const banditStateSchema = z.object({
  arms: z.array(z.string()).min(2),
  policy: z.enum(banditPolicies),
  floorPercent: z.number().min(0).max(50),
  /** Reward lost per millisecond of latency; a labelled answer's reward is 1 if right, 0 if wrong, minus this times its latency, within [0, 1]. */
  latencyPenaltyPerMs: z.number().min(0),
  seed: z.number().int(),
  sinceUs: z.number().int(),
});
export type BanditState = z.infer<typeof banditStateSchema>;

/** Which version answers, which shadows, which takes a canary share: the whole routing truth. */
export const trafficStateSchema = z.object({
  primary: z.string().nullable(),
  /** The version before the current primary, the default target of a rollback. */
  previous: z.string().nullable(),
  shadow: z.object({ version: z.string(), percent: z.number().min(0).max(100) }).nullable(),
  canary: z.object({ version: z.string(), percent: z.number().min(0).max(100) }).nullable(),
  /** Absent unless a bandit runs; while it does, it answers the served traffic and the primary waits as the fallback. */
  bandit: banditStateSchema.optional(),
});
export type TrafficState = z.infer<typeof trafficStateSchema>;

export const emptyTrafficState: TrafficState = { primary: null, previous: null, shadow: null, canary: null };

export interface DeploymentEvent {
  model: string;
  action: string;
  version?: string;
  previousVersion?: string;
  state?: TrafficState;
  actor: string;
  reason: string;
  proposalId?: string;
  approvalId?: string;
  autoApproved?: boolean;
}

export interface StoredDeploymentEvent extends Required<Omit<DeploymentEvent, "state">> {
  eventId: string;
  ts: number;
  state: TrafficState | null;
}

export async function recordDeploymentEvent(store: Store, event: DeploymentEvent): Promise<StoredDeploymentEvent> {
  const row: DeploymentEventRow = {
    event_id: randomUUID(),
    ts: nowMicros(),
    model: event.model,
    action: event.action,
    version: event.version ?? "",
    previous_version: event.previousVersion ?? "",
    state: event.state ? JSON.stringify(event.state) : "",
    actor: event.actor,
    reason: event.reason,
    proposal_id: event.proposalId ?? "",
    approval_id: event.approvalId ?? "",
    auto_approved: event.autoApproved ? 1 : 0,
  };
  await store.insert(deploymentsTable.name, [row]);
  return fromRow(row);
}

/** Newest first. */
export async function deploymentHistory(store: Store, model: string, limit = 100): Promise<StoredDeploymentEvent[]> {
  const rows = await store.rows<DeploymentEventRow>(
    `SELECT * EXCEPT ts, toUnixTimestamp64Micro(ts) AS ts FROM ${store.table(deploymentsTable.name)}
     WHERE model = {model:String} ORDER BY ts DESC, event_id DESC LIMIT {limit:UInt32}`,
    { model, limit },
  );
  return rows.map(fromRow);
}

/** The traffic state written by the newest event that carries one. */
export async function currentTrafficState(store: Store, model: string): Promise<{ state: TrafficState; eventId: string | null }> {
  const [row] = await store.rows<{ state: string; event_id: string }>(
    `SELECT state, event_id FROM ${store.table(deploymentsTable.name)}
     WHERE model = {model:String} AND state != '' ORDER BY ts DESC, event_id DESC LIMIT 1`,
    { model },
  );
  if (!row) return { state: emptyTrafficState, eventId: null };
  return { state: trafficStateSchema.parse(JSON.parse(row.state)), eventId: row.event_id };
}

function fromRow(row: DeploymentEventRow): StoredDeploymentEvent {
  return {
    eventId: row.event_id,
    ts: Number(row.ts),
    model: row.model,
    action: row.action,
    version: row.version,
    previousVersion: row.previous_version,
    state: row.state ? trafficStateSchema.parse(JSON.parse(row.state)) : null,
    actor: row.actor,
    reason: row.reason,
    proposalId: row.proposal_id,
    approvalId: row.approval_id,
    autoApproved: row.auto_approved === 1,
  };
}
