// One window's rows of one version, aggregated in ClickHouse for the drift tests: bin counts per
// feature, raw numeric statistics, and predicted × true class counts.
import type { ModelBaseline } from "../models/baseline.ts";
import type { ModelSchema } from "../models/schema.ts";
import type { Store } from "../store/client.ts";
import type { TailMeans } from "../stats/index.ts";
import { countByType, featureRefs } from "./schema-index.ts";
import { windowCondition, windowParams, type ResolvedWindow } from "./window.ts";

/*
 * Current histograms for every feature in one pass: each row's feature_bin array is unrolled with
 * its positions and counted per (position, bin) packed into one small integer key, which ClickHouse
 * groups with a direct lookup table rather than a hash. Rows binned under another layout (a
 * length other than the schema's) are left out and counted by OUTPUTS_SQL.
 */
const BINS_SQL = (table: string, keyType: "UInt16" | "UInt32") => `
  SELECT intDiv(key, 256) AS pos, key % 256 AS bin, count() AS n
  FROM (
    SELECT feature_bin FROM ${table} FINAL
    WHERE model = {model:String} AND version = {version:String} AND ${windowCondition()}
      AND length(feature_bin) = {features:UInt32}
  )
  ARRAY JOIN arrayMap((b, i) -> to${keyType}(i * 256 + b), feature_bin, arrayEnumerate(feature_bin)) AS key
  GROUP BY key`;

/**
 * Per numeric feature, over raw values when they are logged: count, mean, std, min, max (nulls
 * skipped), and the means of the values in the outer bins (below the first edge, from the last
 * edge up; nan when none), which Wasserstein's tails are computed from.
 */
const RAW_SQL = (table: string) => `
  SELECT pos, count(x) AS n, avg(x) AS mean, stddevPop(x) AS std, min(x) AS min, max(x) AS max,
         avgIf(x, x < {lowEdge:Array(Float64)}[pos]) AS low_mean, avgIf(x, x >= {highEdge:Array(Float64)}[pos]) AS high_mean
  FROM (
    SELECT feature_num FROM ${table} FINAL
    WHERE model = {model:String} AND version = {version:String} AND ${windowCondition()}
      AND length(feature_num) = {numeric:UInt32}
  )
  ARRAY JOIN feature_num AS x, arrayEnumerate(feature_num) AS pos
  GROUP BY pos`;

/** Predicted × true class counts (label '' = unlabelled), with the row counts the report needs. */
const OUTPUTS_SQL = (predictions: string, labels: string) => `
  SELECT predicted, label, count() AS rows, countIf(error != '') AS errors,
         countIf(n_num > 0 OR n_cat > 0) AS raw_rows, countIf(n_bin != {features:UInt32}) AS bad_rows
  FROM (
    SELECT predicted, error, feature_num.size0 AS n_num, feature_cat.size0 AS n_cat, feature_bin.size0 AS n_bin,
           cityHash64(request_id) AS h
    FROM ${predictions} FINAL
    WHERE model = {model:String} AND version = {version:String} AND ${windowCondition()}
  ) AS p
  LEFT JOIN (SELECT cityHash64(request_id) AS h, label FROM ${labels} FINAL WHERE model = {model:String}) AS l ON p.h = l.h
  GROUP BY predicted, label
  SETTINGS join_algorithm = 'hash'`;

export interface RawStats {
  n: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  tails: TailMeans;
}

export interface WindowAggregates {
  rows: number;
  errors: number;
  rawRows: number;
  badRows: number;
  /** 1-based feature position → bin → count. */
  bins: Map<number, Map<number, number>>;
  /** 1-based numeric position → statistics of the raw values. */
  raw: Map<number, RawStats>;
  predicted: Map<string, number>;
  labels: Map<string, number>;
}

/** A (position, bin, count) row as BINS_SQL and the re-binning query return it. */
export interface BinRow {
  pos: number;
  bin: number;
  n: number;
}

type RawRow = Omit<RawStats, "tails"> & { pos: number; low_mean: number; high_mean: number };
type OutputRow = { predicted: string; label: string; rows: number; errors: number; raw_rows: number; bad_rows: number };

export async function aggregateWindow(store: Store, model: string, version: string, schema: ModelSchema, baseline: ModelBaseline, w: ResolvedWindow): Promise<WindowAggregates> {
  const table = store.table("predictions");
  const { numeric } = countByType(schema);
  const features = schema.features.length;
  const params = { model, version, features, numeric, ...outerEdges(schema, baseline), ...windowParams(w) };
  const [bins, raw, outputs] = await Promise.all([
    store.rows<BinRow>(BINS_SQL(table, features < 256 ? "UInt16" : "UInt32"), params),
    numeric > 0 ? store.rows<RawRow>(RAW_SQL(table), params) : Promise.resolve([]),
    store.rows<OutputRow>(OUTPUTS_SQL(table, store.table("labels")), params),
  ]);
  return { ...outputCounts(outputs), bins: binCounts(bins), raw: rawStats(raw) };
}

export function binCounts(rows: readonly BinRow[]): WindowAggregates["bins"] {
  const bins: WindowAggregates["bins"] = new Map();
  for (const r of rows) {
    const pos = Number(r.pos);
    let m = bins.get(pos);
    if (!m) bins.set(pos, (m = new Map()));
    m.set(Number(r.bin), Number(r.n));
  }
  return bins;
}

function rawStats(rows: readonly RawRow[]): WindowAggregates["raw"] {
  const raw: WindowAggregates["raw"] = new Map();
  for (const r of rows) {
    if (Number(r.n) > 0) {
      const tails = { low: finiteOrNull(r.low_mean), high: finiteOrNull(r.high_mean) };
      raw.set(Number(r.pos), { n: Number(r.n), mean: Number(r.mean), std: Number(r.std), min: Number(r.min), max: Number(r.max), tails });
    }
  }
  return raw;
}

function outputCounts(rows: readonly OutputRow[]): Omit<WindowAggregates, "bins" | "raw"> {
  const out = { rows: 0, errors: 0, rawRows: 0, badRows: 0, predicted: new Map<string, number>(), labels: new Map<string, number>() };
  for (const r of rows) {
    const n = Number(r.rows);
    out.rows += n;
    out.errors += Number(r.errors);
    out.rawRows += Number(r.raw_rows);
    out.badRows += Number(r.bad_rows);
    if (r.predicted !== "") out.predicted.set(r.predicted, (out.predicted.get(r.predicted) ?? 0) + n - Number(r.errors));
    if (r.label !== "") out.labels.set(r.label, (out.labels.get(r.label) ?? 0) + n);
  }
  return out;
}

/** Per numeric position, the first and last interior edge of the baseline the rows are compared under. */
function outerEdges(schema: ModelSchema, baseline: ModelBaseline): { lowEdge: number[]; highEdge: number[] } {
  const edges = featureRefs(schema).flatMap((f) => {
    const b = baseline.features[f.index]!;
    return b.type === "numeric" ? [b.edges] : [];
  });
  return { lowEdge: edges.map((e) => e[0] ?? 0), highEdge: edges.map((e) => e[e.length - 1] ?? 0) };
}

const finiteOrNull = (x: unknown): number | null => (x === null || !Number.isFinite(Number(x)) ? null : Number(x));
