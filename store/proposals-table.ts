import type { TableSpec } from "./ddl.ts";

/** Added by migration 6 (tables made before it lack it); new tables have it from the start. */
export const SUPERSEDED_BY_COLUMN = "superseded_by String";

/**
 * Proposed actions awaiting a person's decision (mcp-server/proposals.ts owns the state machine).
 * Every change writes a whole new row; the newest `updated_at` wins, so reads use FINAL.
 */
export const proposalsTable: TableSpec = {
  name: "proposals",
  columns: `
  proposal_id String,
  model LowCardinality(String),
  action LowCardinality(String),
  params String,
  reason String,
  proposed_by String,
  created_at DateTime64(6, 'UTC'),
  expires_at DateTime64(6, 'UTC'),
  base_event_id String,
  state_before String,
  state_after String,
  status LowCardinality(String),
  approval_id String,
  decided_by String,
  decision_reason String,
  decided_at DateTime64(6, 'UTC'),
  applied_by String,
  applied_event_id String,
  error String,
  updated_at DateTime64(6, 'UTC'),
  ${SUPERSEDED_BY_COLUMN}`,
  engine: "ReplacingMergeTree",
  versionColumn: "updated_at",
  orderBy: "proposal_id",
  shardKey: "cityHash64(proposal_id)",
};

export interface ProposalRow {
  proposal_id: string;
  model: string;
  action: string;
  /** JSON of the action's parameters. */
  params: string;
  reason: string;
  proposed_by: string;
  /** Microseconds since the epoch, here and in every time column. */
  created_at: number;
  expires_at: number;
  base_event_id: string;
  /** JSON traffic states; `state_after` is '' when the action changes no traffic (retrain). */
  state_before: string;
  state_after: string;
  status: string;
  approval_id: string;
  decided_by: string;
  decision_reason: string;
  decided_at: number;
  applied_by: string;
  applied_event_id: string;
  error: string;
  updated_at: number;
  /** The proposal a person's edit replaced this one with; '' unless superseded. */
  superseded_by: string;
}
