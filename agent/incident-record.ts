import type { IncidentRecord } from "../incidents/record.ts";
import type { AgentStateType, Evidence } from "./state.ts";
import type { McpTools } from "./tools.ts";

/** Where each step's incident record goes; it must not throw: a run goes on without it. */
export type IncidentSink = (record: IncidentRecord) => Promise<void>;

/**
 * A piece of evidence keeps its figures in the store up to this size. Larger results (a drift report
 * over many features, a page of logs) would make every record write heavy; the run's checkpoint and
 * the tool call in `args` still have them.
 */
export const EVIDENCE_DATA_MAX_BYTES = 16 * 1024;

/** The run's incident as it stands, for record_incident; null while there is none (a healthy check). */
export function incidentRecord(state: AgentStateType): IncidentRecord | null {
  const opened = state.timeline[0];
  if (!state.incidentId || !opened || state.status === "started" || state.status === "healthy") return null;
  const closed = state.incident;
  return {
    incidentId: state.incidentId,
    model: state.model,
    status: state.status,
    openedAt: opened.at,
    closedAt: closed?.closedAt ?? null,
    pendingProposalId: state.status === "awaiting_approval" && state.proposal ? state.proposal.proposalId : null,
    trigger: state.trigger,
    diagnosis: state.diagnosis,
    evidence: state.evidence.map(bounded),
    proposals: state.proposals,
    decisions: state.decisions,
    actions: state.actionResult ? [state.actionResult] : [],
    plan: state.plan,
    verification: state.verification,
    revert: state.revertProposal,
    timeline: state.timeline,
    text: closed?.text ?? "",
  };
}

function bounded(e: Evidence): IncidentRecord["evidence"][number] {
  const bytes = Buffer.byteLength(JSON.stringify(e.data ?? null));
  const data = bytes <= EVIDENCE_DATA_MAX_BYTES ? e.data : { omitted: `${Math.ceil(bytes / 1024)} KB of figures, over the record's ${EVIDENCE_DATA_MAX_BYTES / 1024} KB per piece of evidence` };
  return { id: e.id, node: e.node, tool: e.tool, args: e.args, summary: e.summary, data };
}

/** record_incident on the agent's connection; a failed write is said once per incident and the run goes on (the checkpoint keeps it). */
export function recordThrough(tools: McpTools, print: (text: string) => void): IncidentSink {
  const warned = new Set<string>();
  return async (record) => {
    try {
      await tools.recordIncident(record);
    } catch (err) {
      if (warned.has(record.incidentId)) return;
      warned.add(record.incidentId);
      print(`incident ${record.incidentId} not recorded in the store: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
}
