import type { TableSpec } from "./ddl.ts";

/**
 * Each agent run's incident (incidents/record.ts owns the record's shape). The agent writes the whole
 * record after every step of its run, so the newest `updated_at` wins and reads use FINAL. The parts
 * are JSON columns rather than one blob so that SQL (and Grafana) can read status, model and times.
 */
export const incidentsTable: TableSpec = {
  name: "incidents",
  columns: `
  incident_id String,
  model LowCardinality(String),
  status LowCardinality(String),
  summary String,
  opened_at DateTime64(6, 'UTC'),
  closed_at DateTime64(6, 'UTC'),
  pending_proposal_id String,
  trigger String,
  diagnosis String,
  evidence String,
  proposals String,
  decisions String,
  actions String,
  plan String,
  verification String,
  revert String,
  timeline String,
  text String,
  recorded_by String,
  updated_at DateTime64(6, 'UTC')`,
  engine: "ReplacingMergeTree",
  versionColumn: "updated_at",
  orderBy: "incident_id",
  shardKey: "cityHash64(incident_id)",
};

export interface IncidentRow {
  incident_id: string;
  model: string;
  status: string;
  /** One line: the root cause, or the breach while there is no diagnosis yet. */
  summary: string;
  /** Microseconds since the epoch, here and in every time column; closed_at 0 while open. */
  opened_at: number;
  closed_at: number;
  /** The proposal the run waits on a person for; '' when it waits for none. */
  pending_proposal_id: string;
  /** JSON of the record's parts. */
  trigger: string;
  diagnosis: string;
  evidence: string;
  proposals: string;
  decisions: string;
  actions: string;
  plan: string;
  verification: string;
  revert: string;
  timeline: string;
  text: string;
  /** The MCP principal that wrote this version of the record. */
  recorded_by: string;
  updated_at: number;
}
