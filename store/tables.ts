import type { TableSpec } from "./ddl.ts";

/**
 * The log store's tables. Features are stored as arrays in the model schema's order rather than a
 * Map or one column per feature: one table serves every model, `-ForEach` combinators aggregate all
 * features of a window in one pass, and a single feature is `feature_num[i]` with i taken from the
 * schema (never from a request). `feature_bin` holds each value's bin in the version's training
 * baseline, so drift histograms are plain counts and survive `MLWATCH_LOG_FEATURES=hash`.
 */
export const predictionsTable: TableSpec = {
  name: "predictions",
  columns: `
  request_id String,
  ts DateTime64(6, 'UTC'),
  model LowCardinality(String),
  version LowCardinality(String),
  variant LowCardinality(String),
  feature_num Array(Nullable(Float64)),
  feature_cat Array(LowCardinality(String)),
  feature_bin Array(UInt8),
  feature_hash String,
  predicted LowCardinality(String),
  probabilities Array(Float32),
  confidence Float32,
  latency_us UInt32,
  error LowCardinality(String),
  correlation_id String`,
  // request_id + variant is the dedup key (a shadow row shares its request id with the primary row);
  // the hour prefix keeps a window's rows together. A retried row carries the same ts, so the same key.
  engine: "ReplacingMergeTree",
  orderBy: "(model, toStartOfHour(ts), request_id, variant)",
  partitionBy: "toYYYYMM(ts)",
  ttlColumn: "toDateTime(ts)",
  indexes: ["INDEX request_id_bloom request_id TYPE bloom_filter GRANULARITY 4"],
  shardKey: "cityHash64(request_id)",
};

/**
 * Columns migration 5 adds to predictions: `fallback` is why another version answered ('' when the
 * routed one did), `cached` marks an answer from the prediction cache, `job_id` a row of a batch job.
 */
export const predictionServingColumns = `
  fallback LowCardinality(String) DEFAULT '',
  cached UInt8 DEFAULT 0,
  job_id String DEFAULT ''`;

/** Ground truth, arriving later; the latest label for a request wins. */
export const labelsTable: TableSpec = {
  name: "labels",
  columns: `
  request_id String,
  model LowCardinality(String),
  label String,
  label_ts DateTime64(6, 'UTC')`,
  engine: "ReplacingMergeTree",
  versionColumn: "label_ts",
  orderBy: "(model, request_id)",
  ttlColumn: "toDateTime(label_ts)",
  shardKey: "cityHash64(request_id)",
};

/** Append-only audit log of registry and traffic changes; never expires. */
export const deploymentsTable: TableSpec = {
  name: "deployments",
  columns: `
  event_id String,
  ts DateTime64(6, 'UTC'),
  model LowCardinality(String),
  action LowCardinality(String),
  version String,
  previous_version String,
  state String,
  actor String,
  reason String,
  proposal_id String,
  approval_id String,
  auto_approved UInt8`,
  engine: "MergeTree",
  orderBy: "(model, ts, event_id)",
  shardKey: "cityHash64(model)",
};

/** The model registry: one row per version; a status change writes a newer row. */
export const modelVersionsTable: TableSpec = {
  name: "model_versions",
  columns: `
  model LowCardinality(String),
  version String,
  kind LowCardinality(String),
  status LowCardinality(String),
  created_at DateTime64(6, 'UTC'),
  updated_at DateTime64(6, 'UTC'),
  sha256 String,
  artifact String,
  schema String,
  metrics String,
  training_data String,
  tags Array(String)`,
  engine: "ReplacingMergeTree",
  versionColumn: "updated_at",
  orderBy: "(model, version)",
  shardKey: "cityHash64(model)",
};

/** Reference statistics per version and feature; feature '' holds the model-level statistics. */
export const baselinesTable: TableSpec = {
  name: "baselines",
  columns: `
  model LowCardinality(String),
  version String,
  feature String,
  feature_index Int32,
  stats String,
  created_at DateTime64(6, 'UTC')`,
  engine: "ReplacingMergeTree",
  versionColumn: "created_at",
  orderBy: "(model, version, feature)",
  shardKey: "cityHash64(model)",
};

export const schemaMigrationsTable: TableSpec = {
  name: "schema_migrations",
  columns: `
  version UInt32,
  name String,
  applied_at DateTime64(6, 'UTC')`,
  engine: "ReplacingMergeTree",
  orderBy: "version",
  shardKey: "version",
};

/**
 * "bandit": answered by an arm of a running bandit (rollout/bandit.ts); "fallback": answered by the
 * previous primary because the routed version could not answer.
 */
export const variants = ["primary", "shadow", "canary", "bandit", "fallback"] as const;
export type Variant = (typeof variants)[number];

export interface PredictionRow {
  request_id: string;
  /** Microseconds since the epoch. */
  ts: number;
  model: string;
  version: string;
  variant: Variant;
  feature_num: (number | null)[];
  feature_cat: string[];
  feature_bin: number[];
  feature_hash: string;
  predicted: string;
  probabilities: number[];
  confidence: number;
  latency_us: number;
  error: string;
  correlation_id: string;
  /** Why another version answered: inference_failed, non_finite_output, timeout or load_failed; '' when none did. */
  fallback: string;
  /** 1 when the answer came from the prediction cache. */
  cached: number;
  /** The batch job the row belongs to; '' for a request. */
  job_id: string;
}

export interface LabelRow {
  request_id: string;
  model: string;
  label: string;
  /** Microseconds since the epoch. */
  label_ts: number;
}

export interface DeploymentEventRow {
  event_id: string;
  ts: number;
  model: string;
  action: string;
  version: string;
  previous_version: string;
  /** JSON of the model's whole traffic state after the event. */
  state: string;
  actor: string;
  reason: string;
  proposal_id: string;
  approval_id: string;
  auto_approved: number;
}
