import type { AgentStateType, AgentUpdate, Figures, IncidentSummary, Status } from "../state.ts";
import { entry, type AgentDeps } from "./common.ts";
import { describeAction } from "./propose.ts";
import { pct } from "../../format.ts";

/** Closes the incident: timeline, evidence, action and result, printed and kept in the state. */
export async function summarize(state: AgentStateType, deps: AgentDeps): Promise<AgentUpdate> {
  const status = finalStatus(state);
  const closing = entry(deps, "summarize", `closed: ${status}`);
  const timeline = [...state.timeline, closing];
  const summary: Omit<IncidentSummary, "text"> = {
    incidentId: state.incidentId,
    model: state.model,
    trigger: state.trigger,
    status,
    openedAt: timeline[0]?.at ?? closing.at,
    closedAt: closing.at,
    autoApprove: deps.config.autoApprove,
    diagnosis: state.diagnosis,
    proposal: state.proposal,
    decision: state.decision,
    actionResult: state.actionResult,
    verification: state.verification,
    revert: state.revertProposal,
    timeline,
    evidence: state.evidence.map(({ id, tool, args, summary }) => ({ id, tool, args, summary })),
  };
  const incident: IncidentSummary = { ...summary, text: renderIncident(summary) };
  deps.print(incident.text);
  return { incident, status, timeline: [closing] };
}

function finalStatus(state: AgentStateType): Status {
  if (state.status === "diagnosed") return state.diagnosis?.remedy === "none" ? "no_action" : "escalated";
  if (state.status === "not_recovered") return "escalated";
  return state.status;
}

export function renderIncident(s: Omit<IncidentSummary, "text">): string {
  const lines = [`incident ${s.incidentId} — model ${s.model} — ${s.status.toUpperCase()}`];
  lines.push(`trigger: ${s.trigger.kind === "alert" ? `alert ${s.trigger.alert.alertname} (${s.trigger.alert.status}, since ${s.trigger.alert.startsAt})` : "schedule"}; auto-approve ${s.autoApprove ? "ON (simulation)" : "off"}`);
  const d = s.diagnosis;
  if (d) {
    lines.push(`diagnosis: ${d.rootCause} (${d.category}), confidence ${d.confidence.toFixed(2)}, remedy ${d.remedy} — by ${d.reasoner}${d.fallbackReason ? ` (fallback: ${d.fallbackReason})` : ""}`);
    if (d.features.length) lines.push(`  features: ${d.features.join(", ")}`);
    lines.push(`  ${d.explanation}`);
  }
  if (s.proposal) {
    lines.push(`proposal ${s.proposal.proposalId}: ${describeAction(s.proposal)}${s.proposal.expiresAt ? ` (expires ${s.proposal.expiresAt})` : ""}`);
    if (s.proposal.effect) lines.push(`  expected effect: ${s.proposal.effect}`);
    lines.push(`  undo: ${s.proposal.undo}`);
  }
  if (s.decision) lines.push(`decision: ${s.decision.decision} by ${s.decision.by}${s.decision.autoApproved ? " (auto-approved)" : ""}${s.decision.reason ? ` — ${s.decision.reason}` : ""}${s.decision.serverStatus ? `; server: ${s.decision.serverStatus}` : ""}`);
  if (s.actionResult) lines.push(`action: ${s.actionResult.detail}`);
  if (s.verification) {
    lines.push(`verification: ${s.verification.details}`);
    lines.push(`  before: ${figures(s.verification.before)}`);
    lines.push(`  after:  ${figures(s.verification.after)}`);
  }
  if (s.revert) lines.push(`revert: ${s.revert.detail}`);
  lines.push("timeline:");
  for (const t of s.timeline) lines.push(`  ${t.at}  ${t.node.padEnd(11)} ${t.event}`);
  lines.push("evidence:");
  for (const e of s.evidence) lines.push(`  [${e.id}] ${e.tool}(${JSON.stringify(e.args)}) — ${e.summary}`);
  return lines.join("\n");
}

function figures(f: Figures): string {
  return [
    f.accuracy !== null ? `${f.accuracySource} accuracy ${pct(f.accuracy)}` : "accuracy n/a",
    `${f.rows} rows, ${f.labelled} labelled`,
    f.errorRate !== null ? `error rate ${pct(f.errorRate)}` : null,
    f.p99Ms !== null ? `p99 ${f.p99Ms.toFixed(0)} ms` : null,
  ]
    .filter(Boolean)
    .join(", ");
}
