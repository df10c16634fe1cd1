import type { Store } from "../store/client.ts";
import { incidentsTable, type IncidentRow } from "../store/incidents-table.ts";
import { summaryOf, type IncidentRecord } from "./record.ts";
import { epochUs, iso } from "../format.ts";

/** A request for an incident that is not in the store. */
export class UnknownIncidentError extends Error {}

/** What a list shows of an incident. */
export interface IncidentListing {
  incidentId: string;
  model: string;
  status: string;
  summary: string;
  openedAt: string;
  closedAt: string | null;
  pendingProposalId: string | null;
  updatedAt: string;
}

export interface IncidentQuery {
  model?: string | undefined;
  /** true: runs that have not ended; false: ended ones; undefined: both. */
  open?: boolean | undefined;
  limit: number;
  offset: number;
}

/** Writes the whole record as it stands; the newest write of an incident wins. */
export async function saveIncident(store: Store, record: IncidentRecord, recordedBy: string, nowUs: number): Promise<void> {
  const json = JSON.stringify;
  const row: IncidentRow = {
    incident_id: record.incidentId,
    model: record.model,
    status: record.status,
    summary: summaryOf(record),
    opened_at: epochUs(record.openedAt),
    closed_at: record.closedAt === null ? 0 : epochUs(record.closedAt),
    pending_proposal_id: record.pendingProposalId ?? "",
    trigger: json(record.trigger),
    diagnosis: json(record.diagnosis),
    evidence: json(record.evidence),
    proposals: json(record.proposals),
    decisions: json(record.decisions),
    actions: json(record.actions),
    plan: json(record.plan),
    verification: json(record.verification),
    revert: json(record.revert),
    timeline: json(record.timeline),
    text: record.text,
    recorded_by: recordedBy,
    updated_at: nowUs,
  };
  await store.insert(incidentsTable.name, [row]);
}

export async function getIncident(store: Store, id: string): Promise<IncidentRecord> {
  const rows = await store.rows<IncidentRow>(`${selectIncidents(store)} WHERE incident_id = {id:String}`, { id });
  if (!rows[0]) throw new UnknownIncidentError(`unknown incident '${id}'`);
  return fromRow(rows[0]);
}

/** Newest opened first. */
export async function listIncidents(store: Store, q: IncidentQuery): Promise<IncidentListing[]> {
  const rows = await store.rows<Pick<IncidentRow, "incident_id" | "model" | "status" | "summary" | "opened_at" | "closed_at" | "pending_proposal_id" | "updated_at">>(
    `SELECT incident_id, model, status, summary, opened_at, closed_at, pending_proposal_id, updated_at FROM (${selectIncidents(store)})
     WHERE ({model:String} = '' OR model = {model:String}) AND ({open:Int8} = -1 OR (closed_at = 0) = {open:Int8})
     ORDER BY opened_at DESC, incident_id LIMIT {limit:UInt32} OFFSET {offset:UInt32}`,
    { model: q.model ?? "", open: q.open === undefined ? -1 : q.open ? 1 : 0, limit: q.limit, offset: q.offset },
  );
  return rows.map((r) => ({
    incidentId: r.incident_id,
    model: r.model,
    status: r.status,
    summary: r.summary,
    openedAt: iso(r.opened_at),
    closedAt: Number(r.closed_at) === 0 ? null : iso(r.closed_at),
    pendingProposalId: r.pending_proposal_id || null,
    updatedAt: iso(r.updated_at),
  }));
}

/** Every time column as µs since the epoch. */
function selectIncidents(store: Store): string {
  return `SELECT * EXCEPT (opened_at, closed_at, updated_at),
            toUnixTimestamp64Micro(opened_at) AS opened_at, toUnixTimestamp64Micro(closed_at) AS closed_at,
            toUnixTimestamp64Micro(updated_at) AS updated_at
     FROM ${store.table(incidentsTable.name)} FINAL`;
}

function fromRow(r: IncidentRow): IncidentRecord {
  return {
    incidentId: r.incident_id,
    model: r.model,
    status: r.status as IncidentRecord["status"],
    openedAt: iso(r.opened_at),
    closedAt: Number(r.closed_at) === 0 ? null : iso(r.closed_at),
    pendingProposalId: r.pending_proposal_id || null,
    trigger: JSON.parse(r.trigger),
    diagnosis: JSON.parse(r.diagnosis),
    evidence: JSON.parse(r.evidence),
    proposals: JSON.parse(r.proposals),
    decisions: JSON.parse(r.decisions),
    actions: JSON.parse(r.actions),
    plan: JSON.parse(r.plan),
    verification: JSON.parse(r.verification),
    revert: JSON.parse(r.revert),
    timeline: JSON.parse(r.timeline),
    text: r.text,
  };
}
