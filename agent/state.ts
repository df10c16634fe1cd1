import type { PlanView } from "../rollout/plan-view.ts";
import { Annotation } from "@langchain/langgraph";
import type { Diagnosis } from "./diagnosis.ts";
import type { ActionName, Window } from "./tools.ts";

/** An Alertmanager alert, as much of it as a run keeps. */
export interface AlertPayload {
  alertname: string;
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  fingerprint?: string;
}

export type Trigger = { kind: "schedule" } | { kind: "alert"; alert: AlertPayload };

/** One fact, kept with the tool call that produced it. */
export interface Evidence {
  id: string;
  node: string;
  tool: string;
  args: Record<string, unknown>;
  summary: string;
  /** The parsed structuredContent, or `{ error }` when the tool failed. */
  data: unknown;
}

export interface Observations {
  window: Window;
  health: { total: number; errorRate: number; p99Ms: number | null } | null;
  accuracy: { realized: number | null; labelled: number; estimated: number | null; baseline: number | null; coverage: number | null } | null;
  drift: { drifted: boolean; share: number | null; top: { feature: string; psi: number | null; drifted: boolean }[] } | null;
  /** Each SLO breach, in words; empty = healthy. */
  violations: string[];
  /** Recorded without an incident: an accuracy under the floor that the version's training predicted; drift only on features the model barely relies on. */
  notices: string[];
}

export interface Proposal {
  proposalId: string;
  action: ActionName;
  version?: string;
  canaryPercent?: number;
  reason: string;
  effect: string;
  expiresAt: string | null;
  /** How a person would undo it. */
  undo: string;
  /** retrain: the rollout plan's stages with their gates in figures, as the server will hold them. */
  plan?: string[];
}

export interface Decision {
  decision: "approve" | "reject" | "edit";
  by: string;
  reason?: string;
  edited?: { action?: ActionName; version?: string; canaryPercent?: number };
  /** edit: the proposal the person's side already made from the edit; the run waits on it. */
  proposalId?: string;
  autoApproved: boolean;
  /** The proposal's status on the MCP server after the decision (get_proposal). */
  serverStatus?: string;
  at: string;
}

export interface TrafficSnapshot {
  primary: string | null;
  previous: string | null;
  canary: { version: string; percent: number } | null;
}

export interface ActionResult {
  ok: boolean;
  proposalId: string;
  detail: string;
  appliedAtUs?: number;
  /** Traffic before the action: what a revert returns to. */
  before: TrafficSnapshot;
  /** The version expected to serve after the action, watched by verify. */
  expectedPrimary: string | null;
}

export interface Figures {
  accuracy: number | null;
  accuracySource: "realized" | "estimated" | null;
  rows: number;
  labelled: number;
  errorRate: number | null;
  p99Ms: number | null;
}

export interface Verification {
  recovered: boolean;
  before: Figures;
  after: Figures;
  /** Accuracy the post-action window had to reach. */
  target: number | null;
  polls: number;
  details: string;
}

export interface Revert {
  proposalId: string | null;
  action: ActionName;
  version?: string;
  canaryPercent?: number;
  detail: string;
}

export interface TimelineEntry {
  at: string;
  node: string;
  event: string;
}

export interface IncidentSummary {
  incidentId: string;
  model: string;
  trigger: Trigger;
  status: Status;
  openedAt: string;
  closedAt: string;
  /** MLWATCH_AUTO_APPROVE as it was for this run: written into every record the agent produces. */
  autoApprove: boolean;
  diagnosis: Diagnosis | null;
  proposal: Proposal | null;
  decision: Decision | null;
  actionResult: ActionResult | null;
  verification: Verification | null;
  revert: Revert | null;
  timeline: TimelineEntry[];
  evidence: { id: string; tool: string; args: Record<string, unknown>; summary: string }[];
  text: string;
}

export type Status =
  | "started"
  | "healthy"
  | "investigating"
  | "diagnosed"
  | "awaiting_approval"
  | "approved"
  | "rejected"
  | "edit_requested"
  | "approval_missing"
  | "applied"
  | "rolling_out"
  | "recovered"
  | "not_recovered"
  | "escalated"
  | "no_action";

const replace = <T>(initial: () => T) => Annotation<T>({ reducer: (_old, next) => next, default: initial });
const append = <T>() => Annotation<T[]>({ reducer: (old, next) => old.concat(next), default: () => [] });

export const AgentState = Annotation.Root({
  model: Annotation<string>,
  incidentId: Annotation<string>,
  trigger: replace<Trigger>(() => ({ kind: "schedule" })),
  observations: replace<Observations | null>(() => null),
  evidence: append<Evidence>(),
  diagnosis: replace<Diagnosis | null>(() => null),
  proposal: replace<Proposal | null>(() => null),
  /** Every proposal and decision of the run, first to last: an edit replaces `proposal` and `decision`, not these. */
  proposals: append<Proposal>(),
  decision: replace<Decision | null>(() => null),
  decisions: append<Decision>(),
  actionResult: replace<ActionResult | null>(() => null),
  /** The rollout plan an approved retrain started, as the server last reported it. */
  plan: replace<PlanView | null>(() => null),
  verification: replace<Verification | null>(() => null),
  revertProposal: replace<Revert | null>(() => null),
  incident: replace<IncidentSummary | null>(() => null),
  status: replace<Status>(() => "started"),
  timeline: append<TimelineEntry>(),
});

export type AgentStateType = typeof AgentState.State;
export type AgentUpdate = typeof AgentState.Update;
