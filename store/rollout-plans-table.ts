import type { TableSpec } from "./ddl.ts";

/**
 * Rollout plans (rollout/plan.ts owns their shape): every stage change writes a whole new row and the
 * newest `updated_at` wins, so a restart of any process resumes from the last stage written.
 */
export const rolloutPlansTable: TableSpec = {
  name: "rollout_plans",
  columns: `
  plan_id String,
  model LowCardinality(String),
  proposal_id String,
  status LowCardinality(String),
  plan String,
  updated_at DateTime64(6, 'UTC')`,
  engine: "ReplacingMergeTree",
  versionColumn: "updated_at",
  orderBy: "plan_id",
  shardKey: "cityHash64(plan_id)",
};

export interface RolloutPlanRow {
  plan_id: string;
  model: string;
  proposal_id: string;
  status: string;
  /** JSON of the whole plan. */
  plan: string;
  /** Microseconds since the epoch. */
  updated_at: number;
}
