import type { TableSpec } from "./ddl.ts";

/**
 * A bounded sample of each version's training data (native models) or reference CSV (imported
 * models), so a retrain can learn from the past without the generator or the original files.
 * Features are arrays in the schema's order, as in `predictions`.
 */
export const referenceRowsTable: TableSpec = {
  name: "reference_rows",
  columns: `
  model LowCardinality(String),
  version String,
  row_index UInt32,
  feature_num Array(Nullable(Float64)),
  feature_cat Array(String),
  label String`,
  engine: "ReplacingMergeTree",
  orderBy: "(model, version, row_index)",
  shardKey: "cityHash64(model)",
};

export interface ReferenceRow {
  model: string;
  version: string;
  row_index: number;
  feature_num: (number | null)[];
  feature_cat: string[];
  label: string;
}
