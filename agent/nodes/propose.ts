import type { Remedy } from "../diagnosis.ts";
import { extractFacts, type Facts } from "../facts.ts";
import type { AgentStateType, AgentUpdate, Proposal, TrafficSnapshot } from "../state.ts";
import { actions, ToolCallError, type ActionName } from "../tools.ts";
import { entry, type AgentDeps } from "./common.ts";

type ActionArgs = { action: ActionName; version?: string; canaryPercent?: number; window?: { lastSeconds: number } };

/**
 * Registers the remedy with the MCP server as a proposal (propose_action), so the server holds what
 * a person approves. Its own node, before `approve`: a node re-runs from its start when resumed
 * after an interrupt, and proposing there would register a second proposal on every resume.
 * After an `edit` decision it proposes again with the person's changes, or, when the person's side
 * already made the edited proposal on the server, waits on that one.
 */
export async function propose(state: AgentStateType, deps: AgentDeps): Promise<AgentUpdate> {
  const d = state.diagnosis!;
  const facts = extractFacts(state.evidence, deps.config, deps.now());
  const madeByPerson = state.decision?.decision === "edit" ? state.decision.proposalId : undefined;
  if (madeByPerson) return adopt(madeByPerson, state, deps, facts.traffic);
  const base = actionFor(d.remedy, facts, deps.config.windowSeconds);
  const edited = state.decision?.decision === "edit" ? state.decision.edited : undefined;
  if (!base) return { status: "escalated", timeline: [entry(deps, "propose", `remedy ${d.remedy} has no action to propose`)] };
  const args: ActionArgs = { ...base, ...definedOnly(edited ?? {}) };
  const tag = ` [incident ${state.incidentId}; auto-approve ${deps.config.autoApprove ? "on" : "off"}${edited ? `; edited by ${state.decision!.by}` : ""}]`;
  const reason = clip(`${d.rootCause} (${d.category}, confidence ${d.confidence.toFixed(2)}, ${d.reasoner}): ${d.explanation}`, REASON_MAX - tag.length) + tag;
  try {
    const p = await deps.tools.propose({ model: state.model, ...args, reason });
    const proposal: Proposal = {
      proposalId: p.proposal_id,
      ...args,
      reason,
      effect: p.effect,
      expiresAt: p.expires_at,
      undo: undoOf(args, facts.traffic),
      ...(p.params.plan ? { plan: [`post-change rows from ${p.params.plan.change_at}`, ...p.params.plan.stages] } : {}),
    };
    return {
      proposal,
      proposals: [proposal],
      decision: null,
      status: "awaiting_approval",
      timeline: [entry(deps, "propose", `proposed ${describeAction(args)} as ${p.proposal_id}, expires ${p.expires_at}${edited ? " (edited)" : ""}`)],
    };
  } catch (err) {
    if (!(err instanceof ToolCallError)) throw err;
    return { proposal: null, status: "escalated", timeline: [entry(deps, "propose", `propose_action refused ${describeAction(args)}: ${err.message}`)] };
  }
}

/** The proposal a person's edit made (it superseded the one this run proposed): the run now waits on it. */
async function adopt(proposalId: string, state: AgentStateType, deps: AgentDeps, traffic: TrafficSnapshot | null): Promise<AgentUpdate> {
  const by = state.decision!.by;
  try {
    const p = await deps.tools.getProposal(proposalId);
    if (p.status !== "pending" || !isAction(p.action)) {
      return { proposal: null, status: "escalated", timeline: [entry(deps, "propose", `${by}'s edited proposal ${proposalId} is ${p.status} (${p.action}): nothing to wait on`)] };
    }
    const { version, canary_percent } = p.params;
    const args: ActionArgs = { action: p.action, ...(version ? { version } : {}), ...(canary_percent !== undefined ? { canaryPercent: canary_percent } : {}) };
    const proposal: Proposal = { proposalId, ...args, reason: p.reason, effect: p.effect, expiresAt: p.expires_at, undo: undoOf(args, traffic) };
    return {
      proposal,
      proposals: [proposal],
      decision: null,
      status: "awaiting_approval",
      timeline: [entry(deps, "propose", `${by} edited the proposal into ${describeAction(args)} as ${proposalId}; waiting on it`)],
    };
  } catch (err) {
    if (!(err instanceof ToolCallError)) throw err;
    return { proposal: null, status: "escalated", timeline: [entry(deps, "propose", `get_proposal refused ${by}'s edited proposal ${proposalId}: ${err.message}`)] };
  }
}

const isAction = (a: unknown): a is ActionName => typeof a === "string" && (actions as readonly string[]).includes(a);

export function actionFor(remedy: Remedy, facts: Facts, windowSeconds: number): ActionArgs | null {
  switch (remedy) {
    case "rollback": {
      const version = facts.recentDeployment?.previousVersion ?? facts.traffic?.previous ?? undefined;
      return { action: "rollback", ...(version ? { version } : {}) };
    }
    case "shift_traffic":
      return { action: "set_traffic_split", canaryPercent: 0 };
    case "retrain":
      // Learn from the window that showed the problem, not from the day before it.
      return { action: "retrain", window: { lastSeconds: windowSeconds } };
    default:
      return null;
  }
}

export function describeAction(a: ActionArgs): string {
  switch (a.action) {
    case "rollback":
      return `rollback${a.version ? ` to v${a.version}` : ""}`;
    case "promote":
      return `promote v${a.version ?? "?"}`;
    case "set_traffic_split":
      return `canary traffic to ${a.canaryPercent ?? "?"}%`;
    case "retrain":
      return "retrain";
  }
}

/** The inverse a person (or `revert`) would apply. */
export function inverseOf(a: ActionArgs, before: TrafficSnapshot | null): ActionArgs | null {
  switch (a.action) {
    case "rollback":
    case "promote":
      return before?.primary && before.primary !== a.version ? { action: "promote", version: before.primary } : null;
    case "set_traffic_split":
      return before?.canary ? { action: "set_traffic_split", canaryPercent: before.canary.percent } : null;
    case "retrain":
      return null;
  }
}

function undoOf(a: ActionArgs, before: TrafficSnapshot | null): string {
  if (a.action === "retrain") return "abort the rollout plan at any stage (chat, `mlwatch rollout abort`, abort_rollout): the candidate leaves traffic, and after promotion the base version is restored";
  const inverse = inverseOf(a, before);
  return inverse ? `${describeAction(inverse)} (the agent proposes this itself if verification fails)` : "no automatic inverse: restore the traffic state by hand from the deployment history";
}

/** propose_action takes at most this many characters of reason. */
export const REASON_MAX = 2000;

export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
