import type { Store } from "../store/client.ts";
import { cusumChangePoint, meanTrend, type Bucket } from "../stats/change-point.ts";
import { MISSING_BIN } from "../models/baseline.ts";
import { getVersion } from "../models/registry.ts";
import { resolveWindow, windowCondition, windowParams, type ResolvedWindow, type Window } from "./window.ts";
import { iso } from "../format.ts";

export interface ChangePointQuery {
  model: string;
  /** Rows served by this version only: feature bins are relative to its baseline. */
  version: string;
  window?: Window;
  /** Time buckets the window is cut into. */
  buckets?: number;
}

export interface SignalChange {
  /** "accuracy", "confidence", or "feature:<name>" (the mean of its baseline bin). */
  signal: string;
  atUs: number;
  at: string;
  pValue: number;
  before: number;
  after: number;
}

export interface ChangePointReport {
  model: string;
  version: string;
  window: ResolvedWindow;
  /** The earliest significant change of any signal; null when none changed. */
  change: SignalChange | null;
  /** Every signal whose change passed the Bonferroni-corrected level, earliest first. */
  signals: SignalChange[];
  /** Signals still drifting steadily across the window (a ramp not over yet), at the same level. */
  trends: { signal: string; slopePerBucket: number; pValue: number }[];
  alpha: number;
}

const DEFAULT_BUCKETS = 40;
const ALPHA = 0.01;

/** Per time bucket: rows, labelled and correct rows, confidence moments, and per-feature bin moments (missing excluded). */
const BUCKETS_SQL = (predictions: string, labels: string) => `
  SELECT b, count() AS n, sum(confidence) AS conf, sum(confidence * confidence) AS conf2,
         countIf(label != '') AS labelled, countIf(label != '' AND label = predicted) AS correct,
         sumForEach(arrayMap(x -> toUInt64(x != ${MISSING_BIN}), feature_bin)) AS present,
         sumForEach(arrayMap(x -> toUInt64(if(x = ${MISSING_BIN}, 0, x)), feature_bin)) AS bins,
         sumForEach(arrayMap(x -> toUInt64(if(x = ${MISSING_BIN}, 0, x * x)), feature_bin)) AS bins2
  FROM (
    SELECT intDiv(toUnixTimestamp64Micro(ts) - {fromUs:Int64}, {bucketUs:Int64}) AS b, confidence, predicted, feature_bin, cityHash64(request_id) AS h
    FROM ${predictions} FINAL
    WHERE model = {model:String} AND version = {version:String} AND variant != 'shadow' AND error = '' AND ${windowCondition()}
  ) AS p
  LEFT JOIN (SELECT cityHash64(request_id) AS h, label FROM ${labels} FINAL WHERE model = {model:String}) AS l ON p.h = l.h
  GROUP BY b ORDER BY b
  SETTINGS join_algorithm = 'hash'`;

interface BucketRow {
  b: number;
  n: number;
  conf: number;
  conf2: number;
  labelled: number;
  correct: number;
  present: number[];
  bins: number[];
  bins2: number[];
}

/**
 * When did the version's traffic change? Accuracy on labelled rows, the confidence of every answer
 * and each feature's position in its baseline bins are cut into time buckets and searched for one
 * shift of the mean each (CUSUM). The earliest change that passes the corrected level is the change
 * point: rows from then on are the new population, which is what a retrain should learn from.
 */
export async function findChangePoint(store: Store, q: ChangePointQuery, nowUs?: number): Promise<ChangePointReport> {
  const version = await getVersion(store, q.model, q.version);
  const window = resolveWindow(q.window, nowUs);
  const count = q.buckets ?? DEFAULT_BUCKETS;
  const bucketUs = Math.max(1, Math.ceil((window.toUs - window.fromUs) / count));
  const rows = await store.rows<BucketRow>(BUCKETS_SQL(store.table("predictions"), store.table("labels")), { model: q.model, version: q.version, bucketUs, ...windowParams(window) });
  const startOf = (b: number) => window.fromUs + b * bucketUs;
  const series: { signal: string; buckets: Bucket[] }[] = [
    { signal: "accuracy", buckets: rows.map((r) => ({ n: Number(r.labelled), sum: Number(r.correct), sumSquares: Number(r.correct) })) },
    { signal: "confidence", buckets: rows.map((r) => ({ n: Number(r.n), sum: r.conf, sumSquares: r.conf2 })) },
    ...version.schema.features.map((f, i) => ({
      signal: `feature:${f.name}`,
      buckets: rows.map((r) => ({ n: Number(r.present[i] ?? 0), sum: Number(r.bins[i] ?? 0), sumSquares: Number(r.bins2[i] ?? 0) })),
    })),
  ];
  const level = ALPHA / series.length;
  const signals = series
    .flatMap(({ signal, buckets }) => {
      const c = cusumChangePoint(buckets);
      if (!c || c.pValue >= level) return [];
      const atUs = startOf(Number(rows[c.index]!.b));
      return [{ signal, atUs, at: iso(atUs), pValue: c.pValue, before: c.meanBefore, after: c.meanAfter }];
    })
    .sort((a, b) => a.atUs - b.atUs);
  // Accuracy still falling is the one trend that matters most for a retrain, so it is tested on its own, one-sided, at ALPHA.
  const trends = series.flatMap(({ signal, buckets }) => {
    const t = meanTrend(buckets);
    if (!t) return [];
    const falling = signal === "accuracy";
    const p = falling ? (t.z < 0 ? t.pValue / 2 : 1) : t.pValue;
    return p < (falling ? ALPHA : level) ? [{ signal, slopePerBucket: t.slope, pValue: p }] : [];
  });
  return { model: q.model, version: q.version, window, change: signals[0] ?? null, signals, trends, alpha: ALPHA };
}
