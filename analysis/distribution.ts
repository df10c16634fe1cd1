import type { Store } from "../store/client.ts";
import { groupCounts, histogramFromBins, mergeNumericBins, sum } from "./bins.ts";
import { importanceUnknown, versionImportance, type FeatureImportanceView, type VersionImportance } from "./importance.ts";
import { resolveFeature } from "./schema-index.ts";
import { chooseVersion, requireBaseline, versionInfo, type VersionChoice } from "./version.ts";
import { resolveWindow, windowCondition, windowParams, type ResolvedWindow, type Window } from "./window.ts";

export interface DistributionQuery {
  model: string;
  feature: string;
  version?: string;
  window?: Window;
}

export interface Share {
  reference: number;
  current: number;
  referenceCount: number;
  currentCount: number;
}

export interface Summary {
  mean: number;
  std: number;
  min: number;
  max: number;
  quantiles: Record<"p1" | "p5" | "p25" | "p50" | "p75" | "p95" | "p99", number>;
}

export interface FeatureDistribution {
  model: string;
  version: string;
  versionChosenBy: VersionChoice["chosenBy"];
  window: ResolvedWindow;
  feature: string;
  type: "numeric" | "categorical";
  /** Rows of the version in the window. */
  rows: number;
  referenceRows: number;
  /** Whether raw values were logged (needed for current statistics and unseen category names). */
  rawValues: boolean;
  /**
   * Numeric: the baseline's percentile bins merged into ~10 bins of equal reference mass. Every share
   * is of all rows, missing included: bins (or categories + unknown) + missing sum to 1 per side.
   */
  bins?: ({ from: number; to: number } & Share)[];
  categories?: ({ value: string } & Share)[];
  /** Categorical: values outside the schema's categories; `values` (top 10) needs raw features. */
  unknown?: Share & { values: { value: string; rows: number }[] | null };
  missing: Share;
  /** Numeric: current statistics over the raw values (null when not logged) beside the baseline's. */
  stats?: { current: Summary | null; reference: Summary & { quantilesFrom: string } };
  /** How much the version relies on this feature (permutation importance) and its rank; null when unknown. */
  importance: FeatureImportanceView | null;
  /** How the version's importances were measured; null when it has none. */
  importanceRun: VersionImportance["run"];
  notes: string[];
}

const QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99] as const;
const QUANTILE_KEYS = ["p1", "p5", "p25", "p50", "p75", "p95", "p99"] as const;

/**
 * One feature's bin counts (countResample: one counter per possible UInt8 bin, cheaper than a map
 * per row), plus exact statistics of its raw values when they are logged. Reading one element of
 * feature_num reads the whole array column, so with raw values this costs about as much as the
 * model's width.
 */
const DISTRIBUTION_SQL = (table: string, numeric: boolean) => `
  SELECT count() AS rows, countResample(0, 256, 1)(b) AS bins, countIf(raw) AS raw_rows
         ${numeric ? `, count(x) AS n, avg(x) AS mean, stddevPop(x) AS std, min(x) AS min, max(x) AS max, quantilesExact(${QUANTILES.join(", ")})(x) AS q` : ""}
  FROM (
    SELECT feature_bin[{binPos:UInt32}] AS b, feature_num.size0 > 0 OR feature_cat.size0 > 0 AS raw
           ${numeric ? ", feature_num[{rawPos:UInt32}] AS x" : ""}
    FROM ${table} FINAL
    WHERE model = {model:String} AND version = {version:String} AND ${windowCondition()}
      AND length(feature_bin) = {features:UInt32}
  )`;

/** The commonest values outside the categories (run only when some rows were binned unknown). */
const UNSEEN_SQL = (table: string) => `
  SELECT feature_cat[{rawPos:UInt32}] AS value, count() AS n
  FROM ${table} FINAL
  WHERE model = {model:String} AND version = {version:String} AND ${windowCondition()}
    AND length(feature_cat) = {categorical:UInt32} AND value != '' AND NOT has({categories:Array(String)}, value)
  GROUP BY value ORDER BY n DESC, value LIMIT 10`;

interface DistRow {
  rows: number;
  /** Count per bin number 0..255. */
  bins: number[];
  raw_rows: number;
  n?: number;
  mean?: number;
  std?: number;
  min?: number;
  max?: number;
  q?: number[];
}

/** Current against reference distribution of one feature, ready to draw or read. */
export async function featureDistribution(store: Store, query: DistributionQuery): Promise<FeatureDistribution> {
  const { model } = query;
  const window = resolveWindow(query.window);
  // The traffic counts are not reported here, so the choice skips FINAL.
  const choice = await chooseVersion(store, model, window, query.version, { exactTraffic: false });
  const info = await versionInfo(store, model, choice.version);
  const schema = info.meta.schema;
  const ref = resolveFeature(schema, query.feature, `model '${model}' version ${choice.version}`);
  const baseline = requireBaseline(info);
  const fb = baseline.features[ref.index]!;
  const importance = versionImportance(baseline);
  const numeric = fb.type === "numeric";
  const table = store.table("predictions");
  const params = { model, version: choice.version, binPos: ref.binPos, rawPos: ref.rawPos, features: schema.features.length, ...windowParams(window) };
  const [row] = await store.rows<DistRow>(DISTRIBUTION_SQL(table, numeric), params);
  const rows = Number(row?.rows ?? 0);
  const rawRows = Number(row?.raw_rows ?? 0);
  const binMap = new Map<number, number>((row?.bins ?? []).flatMap((n, bin) => (Number(n) > 0 ? [[bin, Number(n)] as const] : [])));
  const cur = histogramFromBins(fb, binMap);
  const curTotal = sum(cur.counts) + cur.missing;
  const refTotal = fb.count;
  const share = (refCount: number, curCount: number): Share => ({
    reference: refTotal > 0 ? refCount / refTotal : 0,
    current: curTotal > 0 ? curCount / curTotal : 0,
    referenceCount: refCount,
    currentCount: curCount,
  });
  const notes: string[] = [];
  if (rows === 0) notes.push(`no rows of version ${choice.version} in the window`);
  if (rows > 0 && rawRows === 0) notes.push("no raw values logged (MLWATCH_LOG_FEATURES=hash): bins only");
  if (cur.outOfRange > 0) notes.push(`${cur.outOfRange} rows carry a bin outside the baseline's and were left out`);
  if (!importance.run) notes.push(importanceUnknown(choice.version));
  const base = {
    model,
    version: choice.version,
    versionChosenBy: choice.chosenBy,
    window,
    feature: ref.name,
    type: fb.type,
    rows,
    referenceRows: refTotal,
    rawValues: rawRows > 0,
    missing: share(fb.missing, cur.missing),
    importance: importance.byFeature.get(ref.name) ?? null,
    importanceRun: importance.run,
    notes,
  };

  if (fb.type === "categorical") {
    const k = fb.categories.length;
    let values: { value: string; rows: number }[] | null = null;
    if (rawRows > 0) {
      values = [];
      if (cur.counts[k]! > 0) {
        const unseen = await store.rows<{ value: string; n: number }>(UNSEEN_SQL(table), {
          ...params,
          categorical: schema.features.filter((f) => f.type === "categorical").length,
          categories: fb.categories,
        });
        values = unseen.map((u) => ({ value: u.value, rows: Number(u.n) }));
      }
    }
    return {
      ...base,
      categories: fb.categories.map((value, i) => ({ value, ...share(fb.counts[i]!, cur.counts[i]!) })),
      unknown: { ...share(fb.counts[k]!, cur.counts[k]!), values },
    };
  }

  const groups = mergeNumericBins(fb);
  const refGrouped = groupCounts(fb.counts, groups);
  const curGrouped = groupCounts(cur.counts, groups);
  const n = Number(row?.n ?? 0);
  const current: Summary | null =
    n > 0 && row
      ? {
          mean: Number(row.mean),
          std: Number(row.std),
          min: Number(row.min),
          max: Number(row.max),
          quantiles: Object.fromEntries(QUANTILE_KEYS.map((key, i) => [key, Number(row.q![i])])) as Summary["quantiles"],
        }
      : null;
  const sample = Float64Array.from(fb.sample).sort();
  return {
    ...base,
    bins: groups.map((g, i) => ({ from: g.from, to: g.to, ...share(refGrouped[i]!, curGrouped[i]!) })),
    stats: {
      current,
      reference: {
        mean: fb.mean,
        std: fb.std,
        min: fb.min,
        max: fb.max,
        quantiles: Object.fromEntries(QUANTILE_KEYS.map((key, i) => [key, quantileOf(sample, QUANTILES[i]!)])) as Summary["quantiles"],
        quantilesFrom: `baseline sample of ${sample.length} values (sampled)`,
      },
    },
  };
}

/** Linear interpolation between order statistics (numpy's default), as the baseline's edges use. */
function quantileOf(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}
