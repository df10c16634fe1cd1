import type { Store } from "../store/client.ts";
import { nowMicros } from "../store/clock.ts";

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
         quantilesIf(0.5, 0.95, 0.99)(latency_us, error = '') AS q,
         sumForEach(arrayMap(b -> toUInt64(b = least(toUInt8(floor(confidence * 5)), 4)), [0, 1, 2, 3, 4])) AS hist
  FROM ${table} FINAL
  WHERE model = {model:String} AND ts >= fromUnixTimestamp64Micro({fromUs:Int64})
  GROUP BY version, variant ORDER BY version, variant`;

/** The whole-model latency quantiles cannot be summed from per-version ones, so they get their own pass. */
const OVERALL_SQL = (table: string) => `
  SELECT quantilesIf(0.5, 0.95, 0.99)(latency_us, error = '') AS q
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
  const ms = (us: number | undefined) => (Number.isFinite(us) ? Number(us) / 1000 : 0);
  return {
    model,
    windowSeconds,
    total,
    errors,
    errorRate: total ? errors / total : 0,
    latencyMs: { p50: ms(overall?.q[0]), p95: ms(overall?.q[1]), p99: ms(overall?.q[2]) },
    confidenceHistogram: served.reduce((acc, g) => acc.map((c, i) => c + Number(g.hist[i] ?? 0)), [0, 0, 0, 0, 0]),
    byVersion: groups.map((g) => ({
      version: g.version,
      variant: g.variant,
      total: Number(g.total),
      errors: Number(g.errors),
      errorRate: Number(g.total) ? Number(g.errors) / Number(g.total) : 0,
      p50Ms: ms(g.q[0]),
      p99Ms: ms(g.q[2]),
    })),
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
