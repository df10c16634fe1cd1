import type { IncidentRecord } from "../../incidents/record.ts";

/** An incident record as the agent writes it: nothing gathered, proposed or decided unless `o` says so. */
export function incidentRecord(o: Pick<IncidentRecord, "incidentId" | "model" | "status" | "openedAt"> & Partial<IncidentRecord>): IncidentRecord {
  return {
    closedAt: null,
    pendingProposalId: null,
    trigger: { kind: "schedule" },
    diagnosis: null,
    evidence: [],
    proposals: [],
    decisions: [],
    actions: [],
    plan: null,
    verification: null,
    revert: null,
    timeline: [],
    text: "",
    ...o,
  };
}
