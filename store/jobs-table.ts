import type { TableSpec } from "./ddl.ts";

/**
 * Batch scoring jobs (inference/jobs/ owns their lifecycle). Every change writes a whole new row;
 * the newest `updated_at` wins, so reads use FINAL. `input_offset` and `output_bytes` are the
 * checkpoint a restarted service resumes from: the input is read on from that byte, the output
 * is cut back to that length.
 */
export const jobsTable: TableSpec = {
  name: "jobs",
  columns: `
  job_id String,
  model LowCardinality(String),
  status LowCardinality(String),
  owner String,
  submitted_by String,
  rows_total UInt64,
  rows_done UInt64,
  rows_failed UInt64,
  input_offset UInt64,
  output_bytes UInt64,
  error String,
  created_at DateTime64(6, 'UTC'),
  updated_at DateTime64(6, 'UTC')`,
  engine: "ReplacingMergeTree",
  versionColumn: "updated_at",
  orderBy: "job_id",
  shardKey: "cityHash64(job_id)",
};

export const jobStatuses = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
export type JobStatus = (typeof jobStatuses)[number];

export interface JobRow {
  job_id: string;
  model: string;
  status: JobStatus;
  /** The data directory that holds the job's files: only the service on it may resume the job. */
  owner: string;
  submitted_by: string;
  rows_total: number;
  /** Rows written to the output, scored or refused. */
  rows_done: number;
  /** Rows written with an error instead of a prediction. */
  rows_failed: number;
  input_offset: number;
  output_bytes: number;
  error: string;
  /** Microseconds since the epoch. */
  created_at: number;
  updated_at: number;
}
