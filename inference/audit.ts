import type { Store } from "../store/client.ts";
import { nowMicros } from "../store/clock.ts";
import { latencyMs, latencyQuantilesSql } from "../store/latency-quantiles.ts";

export interface AuditSummary {
  model: string;
  windowSeconds: number;
  total: number;
  errors: number;
  errorRate: number;
  latencyMs: { p50: number; p95: number; p99: number };
  /** Counts of confidence in [0,0.2), [0.2,0.4), … [0.8,1]. */
  confidenceHistogram: number[];
  byVersion: { version: string; variant: string; total: number; errors: number; errorRate: number; p50Ms: number; p99Ms: number }[];
}

const SUMMARY_SQL = (table: string) => `
  SELECT version, variant, count() AS total, countIf(error != '') AS errors,
         ${latencyQuantilesSql()} AS q,
         sumForEach(arrayMap(b -> toUInt64(b = least(toUInt8(floor(confidence * 5)), 4)), [0, 1, 2, 3, 4])) AS hist
  FROM ${table} FINAL
  WHERE model = {model:String} AND ts >= fromUnixTimestamp64Micro({fromUs:Int64})
  GROUP BY version, variant ORDER BY version, variant`;

/** The whole-model latency quantiles cannot be summed from per-version ones, so they get their own pass. */
const OVERALL_SQL = (table: string) => `
  SELECT ${latencyQuantilesSql()} AS q
  FROM ${table} FINAL
  WHERE model = {model:String} AND ts >= fromUnixTimestamp64Micro({fromUs:Int64}) AND variant != 'shadow'`;

export async function auditSummary(store: Store, model: string, windowSeconds: number): Promise<AuditSummary> {
  const table = store.table("predictions");
  const params = { model, fromUs: nowMicros() - windowSeconds * 1_000_000 };
  type Group = { version: string; variant: string; total: number; errors: number; q: number[]; hist: number[] };
  const groups = await store.rows<Group>(SUMMARY_SQL(table), params);
  const [overall] = await store.rows<{ q: number[] }>(OVERALL_SQL(table), params);
  const served = groups.filter((g) => g.variant !== "shadow");
  const total = served.reduce((a, g) => a + Number(g.total), 0);
  const errors = served.reduce((a, g) => a + Number(g.errors), 0);
  // Zeros where nothing was answered: the route's schema has numbers, not nulls.
  const latency = (q: number[] | undefined) => (q?.length === 3 && q.every((x) => Number.isFinite(Number(x))) ? latencyMs(q) : { p50: 0, p95: 0, p99: 0 });
  return {
    model,
    windowSeconds,
    total,
    errors,
    errorRate: total ? errors / total : 0,
    latencyMs: latency(overall?.q),
    confidenceHistogram: served.reduce((acc, g) => acc.map((c, i) => c + Number(g.hist[i] ?? 0)), [0, 0, 0, 0, 0]),
    byVersion: groups.map((g) => {
      const { p50, p99 } = latency(g.q);
      const n = Number(g.total);
      return { version: g.version, variant: g.variant, total: n, errors: Number(g.errors), errorRate: n ? Number(g.errors) / n : 0, p50Ms: p50, p99Ms: p99 };
    }),
  };
}

export async function auditRecent(store: Store, model: string, limit: number) {
  return store.rows(
    `SELECT request_id, toUnixTimestamp64Micro(ts) AS ts_us, version, variant, predicted, probabilities, confidence,
            latency_us, error, correlation_id, feature_hash
     FROM ${store.table("predictions")} FINAL WHERE model = {model:String}
     ORDER BY ts DESC LIMIT {limit:UInt32}`,
    { model, limit },
  );
}
