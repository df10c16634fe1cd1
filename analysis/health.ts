import type { Store } from "../store/client.ts";
import { BUCKET_SQL, bucketSecondsFor, bucketStarts, iso, resolveWindow, windowCondition, windowParams, type ResolvedWindow, type Window } from "./window.ts";

export interface HealthQuery {
  model: string;
  window?: Window;
  bucketSeconds?: number;
}

export interface Latency {
  p50: number;
  p95: number;
  p99: number;
}

export interface HealthFigures {
  rows: number;
  errors: number;
  errorRate: number;
  /** Rows per second over the window (or the part of the bucket inside it). */
  throughputPerSec: number;
  /** Over answered rows, in ms; exact nearest-rank quantiles (ClickHouse quantilesExact). Null without answered rows. */
  latencyMs: Latency | null;
}

export interface HealthReport {
  model: string;
  window: ResolvedWindow;
  bucketSeconds: number;
  /** Primary and canary rows: what callers saw. */
  served: HealthFigures;
  /** Shadow rows (scored after the answer, never seen by callers); null when none. */
  shadow: HealthFigures | null;
  byVersion: (HealthFigures & { version: string; variant: string })[];
  /** Reason = the error text up to its first ':'. Most frequent first; example is one full message ('' if none was kept). */
  errorsByReason: { reason: string; rows: number; example: string; byVersion: { version: string; variant: string; rows: number }[] }[];
  /** Served rows per bucket. */
  trend: (HealthFigures & { startUs: number; start: string })[];
  notes: string[];
}

/*
 * One pass, three grouping sets: (version, variant) for the table per version and the errors by
 * reason, (served) for the totals and (served, bucket) for the trend; `served` separates callers'
 * traffic from shadow scoring. Quantiles cannot be added up across groups, hence one set per
 * level. Reasons (the error text up to its first ':') are counted in a map that only error rows
 * touch, with up to 20 distinct messages kept as examples.
 */
const HEALTH_SQL = (table: string) => `
  SELECT version, variant, served, bucket,
         grouping(version) AS g_version, grouping(bucket) AS g_bucket,
         count() AS rows, countIf(error != '') AS errors,
         quantilesExactIf(0.5, 0.95, 0.99)(latency_us, error = '') AS q,
         sumMapIf([reason], [toUInt64(1)], error != '') AS reasons,
         groupUniqArrayIf(20)(error, error != '') AS examples
  FROM (
    SELECT version, variant, variant != 'shadow' AS served, ${BUCKET_SQL} AS bucket, error, latency_us,
           trimBoth(splitByChar(':', error)[1]) AS reason
    FROM ${table} FINAL
    WHERE model = {model:String} AND ${windowCondition()}
  )
  GROUP BY GROUPING SETS ((version, variant), (served), (served, bucket))`;

interface Row {
  version: string;
  variant: string;
  served: number;
  bucket: number;
  g_version: number;
  g_bucket: number;
  rows: number;
  errors: number;
  q: number[];
  /** [reasons, counts] */
  reasons: [string[], number[]];
  examples: string[];
}

/** Latency, errors and throughput per version and variant and over time. */
export async function modelHealth(store: Store, query: HealthQuery): Promise<HealthReport> {
  const { model } = query;
  const window = resolveWindow(query.window);
  const bucketSeconds = bucketSecondsFor(window, query.bucketSeconds);
  const rows = await store.rows<Row>(HEALTH_SQL(store.table("predictions")), { model, bucketUs: bucketSeconds * 1e6, ...windowParams(window) });
  const figures = (r: Row | undefined, seconds: number): HealthFigures => {
    const n = Number(r?.rows ?? 0);
    const errors = Number(r?.errors ?? 0);
    const latencyMs = r && n - errors > 0 ? { p50: Number(r.q[0]) / 1000, p95: Number(r.q[1]) / 1000, p99: Number(r.q[2]) / 1000 } : null;
    return { rows: n, errors, errorRate: n > 0 ? errors / n : 0, throughputPerSec: seconds > 0 ? n / seconds : 0, latencyMs };
  };
  const totals = rows.filter((r) => r.g_version === 1 && r.g_bucket === 1);
  const servedRow = totals.find((r) => Number(r.served) === 1);
  const shadowRow = totals.find((r) => Number(r.served) === 0);
  const byVersion = rows
    .filter((r) => r.g_version === 0)
    .sort((a, b) => Number(a.version) - Number(b.version) || a.version.localeCompare(b.version) || a.variant.localeCompare(b.variant))
    .map((r) => ({ version: r.version, variant: r.variant, ...figures(r, window.seconds) }));

  const reasons = new Map<string, HealthReport["errorsByReason"][number]>();
  for (const r of rows.filter((x) => x.g_version === 0)) {
    const [names, counts] = r.reasons;
    names.forEach((reason, i) => {
      const entry = reasons.get(reason) ?? { reason, rows: 0, example: "", byVersion: [] };
      entry.rows += Number(counts[i]);
      entry.example ||= r.examples.find((e) => e.split(":")[0]!.trim() === reason) ?? "";
      entry.byVersion.push({ version: r.version, variant: r.variant, rows: Number(counts[i]) });
      reasons.set(reason, entry);
    });
  }
  for (const e of reasons.values()) e.byVersion.sort((a, b) => b.rows - a.rows || a.version.localeCompare(b.version) || a.variant.localeCompare(b.variant));
  const errorsByReason = [...reasons.values()].sort((a, b) => b.rows - a.rows || a.reason.localeCompare(b.reason));

  const byBucket = new Map(rows.filter((r) => r.g_version === 1 && r.g_bucket === 0 && Number(r.served) === 1).map((r) => [Number(r.bucket), r]));
  const width = bucketSeconds * 1e6;
  const trend = bucketStarts(window, bucketSeconds).map((startUs) => {
    const inside = (Math.min(startUs + width, window.toUs) - Math.max(startUs, window.fromUs)) / 1e6;
    return { startUs, start: iso(startUs), ...figures(byBucket.get(startUs), inside) };
  });
  const notes: string[] = [];
  if (!servedRow && !shadowRow) notes.push("no predictions in the window");
  return {
    model,
    window,
    bucketSeconds,
    served: figures(servedRow, window.seconds),
    shadow: shadowRow ? figures(shadowRow, window.seconds) : null,
    byVersion,
    errorsByReason,
    trend,
    notes,
  };
}
