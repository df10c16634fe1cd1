import type { Store } from "../store/client.ts";
import { latencyMs, latencyQuantilesSql, type Latency } from "../store/latency-quantiles.ts";
import { BUCKET_SQL, bucketSecondsFor, bucketStarts, resolveWindow, windowCondition, windowParams, WindowError, type ResolvedWindow, type Window } from "./window.ts";
import { iso } from "../format.ts";

export interface HealthQuery {
  model: string;
  window?: Window;
  bucketSeconds?: number;
  baseline?: BaselineOptions;
}

/** How each version's reference period is chosen; every field has a default. */
export interface BaselineOptions {
  /** Length of the reference period: the version's first this-many seconds of served traffic (default: the window's length). */
  referenceSeconds?: number;
  /** The reference period starts at the version's first served row at most this long before the window (default 7 days). */
  lookbackSeconds?: number;
  /** A request counts as slow over the reference median plus this (default 10 ms) and over the reference p95. */
  slowMarginMs?: number;
}

export interface HealthFigures {
  rows: number;
  errors: number;
  errorRate: number;
  /** Rows per second over the window (or the part of the bucket inside it). */
  throughputPerSec: number;
  /** Over answered rows, in ms (store/latency-quantiles.ts: exact, as every report gives them). Null without answered rows. */
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
  /** Per version over callers' traffic (primary and canary rows together, shadow left out): what callers of that version saw, with exact quantiles. */
  servedByVersion: ServedVersion[];
  /** Reason = the error text up to its first ':'. Most frequent first; example is one full message ('' if none was kept). */
  errorsByReason: { reason: string; rows: number; example: string; byVersion: { version: string; variant: string; rows: number }[] }[];
  /** Served rows per bucket. */
  trend: (HealthFigures & { startUs: number; start: string })[];
  /** Each version's own usual latency and error rate, and the window measured against it: see BASELINE_RULE. */
  baselines: VersionBaseline[];
  baselineRule: string;
  notes: string[];
}

export interface ServedVersion extends HealthFigures {
  version: string;
  /** Most frequent first. */
  errorsByReason: { reason: string; rows: number }[];
}

export interface PeriodFigures {
  fromUs: number;
  toUs: number;
  from: string;
  to: string;
  rows: number;
  errors: number;
  errorRate: number;
  latencyMs: Latency | null;
}

export interface VersionBaseline {
  version: string;
  /** The version's traffic just before the window, or its first traffic when it is newer: what its latency and error rate usually are. */
  reference: PeriodFigures;
  /** The version's served rows in the window after its reference period; null when there are none. */
  current:
    | (PeriodFigures & {
        /** Over the reference p99: about 1% of requests when nothing changed. */
        overReferenceP99: { thresholdMs: number; rows: number; share: number };
        /**
         * Over the reference median + slowMarginMs and over the reference p95, now and in the reference
         * period: a busy host's stalls put some requests there in both (at most 5% in the reference), so
         * the two shares compare where a p95 or p99 alone would swing.
         */
        slow: { thresholdMs: number; rows: number; share: number; medianMs: number | null; reference: { rows: number; share: number } };
        /** The newer half of the current period, to tell a change still going on from a burst that ended. */
        recent: { fromUs: number; rows: number; errors: number; errorRate: number; slowRows: number; slowShare: number };
      })
    | null;
}

/*
 * One pass, four grouping sets: (version, variant) for the table per version and the errors by
 * reason, (version, served) for what callers of each version saw, (served) for the totals and
 * (served, bucket) for the trend; `served` separates callers' traffic from shadow scoring. Quantiles cannot be added up across groups, hence one set per
 * level. Reasons (the error text up to its first ':') are counted in a map that only error rows
 * touch, with up to 20 distinct messages kept as examples.
 */
const HEALTH_SQL = (table: string) => `
  SELECT version, variant, served, bucket,
         grouping(version) AS g_version, grouping(variant) AS g_variant, grouping(bucket) AS g_bucket,
         count() AS rows, countIf(error != '') AS errors,
         ${latencyQuantilesSql()} AS q,
         sumMapIf([reason], [toUInt64(1)], error != '') AS reasons,
         groupUniqArrayIf(20)(error, error != '') AS examples
  FROM (
    SELECT version, variant, variant != 'shadow' AS served, ${BUCKET_SQL} AS bucket, error, latency_us,
           trimBoth(splitByChar(':', error)[1]) AS reason
    FROM ${table} FINAL
    WHERE model = {model:String} AND ${windowCondition()}
  )
  GROUP BY GROUPING SETS ((version, variant), (version, served), (served), (served, bucket))`;

interface Row {
  version: string;
  variant: string;
  served: number;
  bucket: number;
  g_version: number;
  g_variant: number;
  g_bucket: number;
  rows: number;
  errors: number;
  q: number[];
  /** [reasons, counts] */
  reasons: [string[], number[]];
  examples: string[];
}

const byVersionOrder = (a: Row, b: Row) => Number(a.version) - Number(b.version) || a.version.localeCompare(b.version);

function reasonCounts(r: Row): ServedVersion["errorsByReason"] {
  const [names, counts] = r.reasons;
  return names.map((reason, i) => ({ reason, rows: Number(counts[i]) })).sort((a, b) => b.rows - a.rows || a.reason.localeCompare(b.reason));
}

/** Latency, errors and throughput per version and variant and over time. */
export async function modelHealth(store: Store, query: HealthQuery): Promise<HealthReport> {
  const { model } = query;
  const window = resolveWindow(query.window);
  const bucketSeconds = bucketSecondsFor(window, query.bucketSeconds);
  const [rows, baselines] = await Promise.all([
    store.rows<Row>(HEALTH_SQL(store.table("predictions")), { model, bucketUs: bucketSeconds * 1e6, ...windowParams(window) }),
    versionBaselines(store, model, window, query.baseline ?? {}),
  ]);
  const figures = (r: Row | undefined, seconds: number): HealthFigures => {
    const n = Number(r?.rows ?? 0);
    const errors = Number(r?.errors ?? 0);
    const latency = r && n - errors > 0 ? latencyMs(r.q) : null;
    return { rows: n, errors, errorRate: n > 0 ? errors / n : 0, throughputPerSec: seconds > 0 ? n / seconds : 0, latencyMs: latency };
  };
  const totals = rows.filter((r) => r.g_version === 1 && r.g_bucket === 1);
  const servedRow = totals.find((r) => Number(r.served) === 1);
  const shadowRow = totals.find((r) => Number(r.served) === 0);
  const byVariant = rows.filter((r) => r.g_version === 0 && r.g_variant === 0);
  const byVersion = byVariant
    .sort((a, b) => byVersionOrder(a, b) || a.variant.localeCompare(b.variant))
    .map((r) => ({ version: r.version, variant: r.variant, ...figures(r, window.seconds) }));
  const servedByVersion = rows
    .filter((r) => r.g_version === 0 && r.g_variant === 1 && Number(r.served) === 1)
    .sort(byVersionOrder)
    .map((r) => ({ version: r.version, ...figures(r, window.seconds), errorsByReason: reasonCounts(r) }));

  const reasons = new Map<string, HealthReport["errorsByReason"][number]>();
  for (const r of byVariant) {
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
    servedByVersion,
    errorsByReason,
    trend,
    baselines,
    baselineRule: BASELINE_RULE,
    notes,
  };
}

// ── relative baselines ───────────────────────────────────────────────────────────────────────

const DEFAULT_LOOKBACK_SECONDS = 7 * 86_400;
const DEFAULT_SLOW_MARGIN_MS = 10;

export const BASELINE_RULE =
  "reference = a version's served (primary and canary) rows in the referenceSeconds (default: the window's length) just before " +
  "the window when it served then; otherwise its first referenceSeconds from its first served row at most lookbackSeconds " +
  "(default 7 days) before the window; current = its rows in the window after the reference period; slow = an answered request " +
  "over both the reference p50 + slowMarginMs (default 10 ms) and the reference p95, counted in both periods.";

/** Each version's first served row since the lookback start, and whether it served just before the window. */
const STARTS_SQL = (table: string) => `
  SELECT version, toUnixTimestamp64Micro(min(ts)) AS start_us,
         countIf(ts >= fromUnixTimestamp64Micro({beforeUs:Int64}) AND ts < fromUnixTimestamp64Micro({windowFromUs:Int64})) AS just_before
  FROM ${table}
  WHERE model = {model:String} AND variant != 'shadow' AND ${windowCondition()}
  GROUP BY version`;

/** Rows, errors and latency quantiles of each version over its own reference period [start, end). */
const REFERENCE_SQL = (table: string) => `
  SELECT version, count() AS rows, countIf(error != '') AS errors,
         ${latencyQuantilesSql()} AS q
  FROM (
    SELECT version, ts, error, latency_us, indexOf({versions:Array(String)}, version) AS k
    FROM ${table} FINAL
    WHERE model = {model:String} AND variant != 'shadow' AND has({versions:Array(String)}, version)
      AND ${windowCondition()}
  )
  WHERE toUnixTimestamp64Micro(ts) >= {starts:Array(Int64)}[k] AND toUnixTimestamp64Micro(ts) < {ends:Array(Int64)}[k]
  GROUP BY version`;

/**
 * The same versions in the window after their reference periods (cur), against each one's
 * thresholds (µs), and the reference rows (ref) over the same slow threshold; one scan over both.
 */
const CURRENT_SQL = (table: string) => `
  SELECT version, countIf(cur) AS rows, countIf(cur AND error != '') AS errors,
         ${latencyQuantilesSql("cur")} AS q,
         countIf(cur AND error = '' AND latency_us > p99) AS over_p99,
         countIf(cur AND error = '' AND latency_us > slow) AS slow_rows,
         quantileExactIf(0.5)(latency_us, cur AND error = '' AND latency_us > slow) AS slow_median,
         countIf(cur AND recent) AS recent_rows, countIf(cur AND recent AND error != '') AS recent_errors,
         countIf(cur AND recent AND error = '' AND latency_us > slow) AS recent_slow,
         countIf(ref AND error = '' AND latency_us > slow) AS ref_slow
  FROM (
    SELECT version, error, latency_us, indexOf({versions:Array(String)}, version) AS k, toUnixTimestamp64Micro(ts) AS t,
           {p99s:Array(UInt64)}[k] AS p99, {slows:Array(UInt64)}[k] AS slow,
           t >= {froms:Array(Int64)}[k] AS cur, t >= {starts:Array(Int64)}[k] AND t < {ends:Array(Int64)}[k] AS ref,
           t >= {halves:Array(Int64)}[k] AS recent
    FROM ${table} FINAL
    WHERE model = {model:String} AND variant != 'shadow' AND has({versions:Array(String)}, version) AND ${windowCondition()}
  )
  WHERE cur OR ref
  GROUP BY version`;

interface PeriodRow {
  version: string;
  rows: number;
  errors: number;
  q: number[];
}

interface CurrentRow extends PeriodRow {
  over_p99: number;
  slow_rows: number;
  slow_median: number;
  recent_rows: number;
  recent_errors: number;
  recent_slow: number;
  ref_slow: number;
}

/** Each served version's reference period and, when it has rows in the window after it, the window against it. */
async function versionBaselines(store: Store, model: string, window: ResolvedWindow, o: BaselineOptions): Promise<VersionBaseline[]> {
  for (const [key, v, min] of [["referenceSeconds", o.referenceSeconds, 1], ["lookbackSeconds", o.lookbackSeconds, 0], ["slowMarginMs", o.slowMarginMs, 0]] as const) {
    if (v !== undefined && !(Number.isFinite(v) && v >= min)) throw new WindowError(`baseline.${key} must be a number >= ${min}, got ${String(v)}`);
  }
  const table = store.table("predictions");
  const referenceUs = (o.referenceSeconds ?? window.seconds) * 1e6;
  const lookback = resolveWindow({ fromUs: Math.max(0, window.fromUs - (o.lookbackSeconds ?? DEFAULT_LOOKBACK_SECONDS) * 1e6), toUs: window.toUs });
  const beforeUs = window.fromUs - referenceUs;
  const found = await store.rows<{ version: string; start_us: number; just_before: number }>(STARTS_SQL(table), { model, beforeUs, windowFromUs: window.fromUs, ...windowParams(lookback) });
  // The period just before the window when the version served then: a slow creep of the host (or of
  // the store under it) stays out of the comparison. A version new since then: its own first traffic.
  const starts = found
    .map((r) =>
      Number(r.just_before) > 0
        ? { version: r.version, startUs: Math.max(Number(r.start_us), beforeUs), endUs: window.fromUs }
        : { version: r.version, startUs: Number(r.start_us), endUs: Math.min(Number(r.start_us) + referenceUs, window.toUs) },
    )
    .sort((a, b) => a.startUs - b.startUs || a.version.localeCompare(b.version));
  if (starts.length === 0) return [];
  const versions = starts.map((s) => s.version);
  // Only the span the reference periods cover is read, not the whole lookback.
  const span = resolveWindow({ fromUs: starts[0]!.startUs, toUs: Math.max(starts[0]!.startUs + 1, ...starts.map((s) => s.endUs)) });
  const refRows = await store.rows<PeriodRow>(REFERENCE_SQL(table), {
    model,
    versions,
    starts: starts.map((s) => s.startUs),
    ends: starts.map((s) => s.endUs),
    ...windowParams(span),
  });
  const references = starts.map((s) => period(refRows.find((r) => r.version === s.version), s.startUs, s.endUs));
  const current = await currentAgainst(store, model, window, starts, references, o.slowMarginMs ?? DEFAULT_SLOW_MARGIN_MS, span);
  return starts.map((s, i) => ({ version: s.version, reference: references[i]!, current: current[i] ?? null }));
}

async function currentAgainst(
  store: Store,
  model: string,
  window: ResolvedWindow,
  starts: { version: string; startUs: number; endUs: number }[],
  references: PeriodFigures[],
  marginMs: number,
  span: ResolvedWindow,
): Promise<(VersionBaseline["current"] | undefined)[]> {
  const froms = starts.map((s) => Math.max(window.fromUs, s.endUs));
  const halves = froms.map((f) => Math.floor((f + window.toUs) / 2));
  // Without a reference latency nothing is slow relative to it: thresholds so high no row passes.
  const none = 2 ** 32;
  const p99s = references.map((r) => (r.latencyMs ? Math.round(r.latencyMs.p99 * 1000) : none));
  const slows = references.map((r) => (r.latencyMs ? Math.round(Math.max(r.latencyMs.p50 + marginMs, r.latencyMs.p95) * 1000) : none));
  const rows = await store.rows<CurrentRow>(CURRENT_SQL(store.table("predictions")), {
    model,
    versions: starts.map((s) => s.version),
    froms,
    halves,
    starts: starts.map((s) => s.startUs),
    ends: starts.map((s) => s.endUs),
    p99s,
    slows,
    ...windowParams(resolveWindow({ fromUs: Math.min(span.fromUs, window.fromUs), toUs: window.toUs })),
  });
  return starts.map((s, i) => {
    const r = rows.find((x) => x.version === s.version);
    if (!r || Number(r.rows) === 0 || froms[i]! >= window.toUs) return undefined;
    const figures = period(r, froms[i]!, window.toUs);
    const answered = figures.rows - figures.errors;
    const share = (n: number, of: number) => (of > 0 ? n / of : 0);
    const recentRows = Number(r.recent_rows);
    const recentErrors = Number(r.recent_errors);
    const recentSlow = Number(r.recent_slow);
    return {
      ...figures,
      overReferenceP99: { thresholdMs: p99s[i]! / 1000, rows: Number(r.over_p99), share: share(Number(r.over_p99), answered) },
      slow: {
        thresholdMs: slows[i]! / 1000,
        rows: Number(r.slow_rows),
        share: share(Number(r.slow_rows), answered),
        medianMs: Number(r.slow_rows) > 0 ? Number(r.slow_median) / 1000 : null,
        reference: { rows: Number(r.ref_slow), share: share(Number(r.ref_slow), references[i]!.rows - references[i]!.errors) },
      },
      recent: { fromUs: halves[i]!, rows: recentRows, errors: recentErrors, errorRate: share(recentErrors, recentRows), slowRows: recentSlow, slowShare: share(recentSlow, recentRows - recentErrors) },
    };
  });
}

function period(r: PeriodRow | undefined, fromUs: number, toUs: number): PeriodFigures {
  const rows = Number(r?.rows ?? 0);
  const errors = Number(r?.errors ?? 0);
  const latency = r && rows - errors > 0 ? latencyMs(r.q) : null;
  return { fromUs, toUs, from: iso(fromUs), to: iso(toUs), rows, errors, errorRate: rows > 0 ? errors / rows : 0, latencyMs: latency };
}
