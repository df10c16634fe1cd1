import { normalCdf, normalQuantile, twoProportionZTest, type Interval } from "../stats/index.ts";
import type { AgentConfig, RelativeThresholds } from "./configuration.ts";
import type { Evidence, Figures, TrafficSnapshot } from "./state.ts";
import type { DriftReport, FeatureDrift, FeatureImportanceView, HealthReport, ServedVersion, VersionBaseline } from "../analysis/index.ts";
import type { AccuracyResult, DeploymentHistory } from "../mcp-server/results.ts";
import {
  accuracyKind,
  deploymentsKind,
  driftKind,
  healthKind,
  logsSchema,
  segmentsSchema,
} from "./tools.ts";
import { epochUs, iso, pct } from "../format.ts";

// Evidence (tool calls and their parsed results) → the facts the rules, the check and the SLOs read.
// Pure: the same evidence always gives the same facts, so reasoners are testable from fixtures.

export interface VersionFigures {
  version: string | null;
  total: number | null;
  labelled: number;
  realized: number | null;
  interval: Interval | null;
  estimated: number | null;
  /** The version's held-out accuracy, when the server reports it. */
  baseline: number | null;
  /** The held-out rows behind it. */
  baselineRows: number | null;
  errorRate: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  /** Most frequent first. */
  errorsByReason: { reason: string; rows: number }[];
  /** Its own latency and error-rate history: a reference period and the window against it (get_model_health's baselines). */
  history: VersionBaseline | null;
}

export interface RecentDeployment {
  version: string;
  previousVersion: string | null;
  role: "primary" | "canary";
  action: string;
  ageSeconds: number;
  atUs: number;
}

export interface DriftFacts {
  version: string | null;
  rows: number | null;
  datasetDrifted: boolean;
  share: number | null;
  predictionDrifted: boolean;
  ranked: FeatureDrift[];
  shifted: FeatureDrift[];
}

/** A feature that moved against the new version's training baseline but not against its predecessor's. */
export interface Mismatch {
  feature: string;
  psi: number | null;
  previousPsi: number | null;
  missing: { training: number | null; traffic: number | null };
}

/** When a figure changed, from a trend: buckets before `atUs` average `before`, from it on `after`. */
export interface Onset {
  atUs: number;
  before: number;
  after: number;
  /** Two-proportion test of the two sides, Bonferroni-corrected for the splits tried; null for an estimate. */
  pValue: number | null;
  source: "realized" | "estimated";
  bucketSeconds: number;
}

export interface Facts {
  traffic: TrafficSnapshot | null;
  recentDeployment: RecentDeployment | null;
  /** The recently deployed version's accuracy against the version it replaced (deployComparison). */
  deploy: DeployComparison | null;
  /** The versions serving now (primary, canary), over the monitoring window; the whole model when traffic is unknown. */
  serving: (VersionFigures & { role: "primary" | "canary" | "model" })[];
  /** Every version seen over the longest window looked at: what comparisons use. */
  versions: Map<string, VersionFigures>;
  drift: DriftFacts | null;
  /** The deployed version's inputs against the training baseline of the version it replaced (recent deployments only). */
  referenceDrift: (DriftFacts & { referenceVersion: string }) | null;
  /** Features shifted against the deployed version's own baseline only: it was trained on data unlike its traffic. */
  mismatch: Mismatch[];
  /** When accuracy fell, over the longest accuracy trend looked at. */
  accuracyOnset: Onset | null;
  /** When the current primary began serving, from the deployment history; null when it does not reach back that far. */
  primarySinceUs: number | null;
  /** Served p95 per bucket over the monitoring window. */
  latencyTrend: { startUs: number; rows: number; p50: number | null; p95: number | null }[];
  unseen: { feature: string; share: number | null; categories: string[] }[];
  missingRise: { feature: string; reference: number; current: number; rise: number }[];
  /** Most labelled rows any accuracy result reported: 0 means no ground truth at all. */
  labelledAny: number;
  wrongSamples: number | null;
  /** Segments whose error rate rose significantly against the version's held-out rates, largest rise first (find_failing_segments). */
  segments: FailingSegment[];
  knownFeatures: Set<string>;
}

export interface FailingSegment {
  feature: string;
  label: string;
  errorRate: number | null;
  referenceErrorRate: number | null;
  labelled: number;
  adjustedPValue: number;
}

/** The newest result of a tool, from the first of `nodes` that called it (any node when none are named), among calls `keep` accepts. */
function latest<T>(evidence: Evidence[], tool: string, parse: (d: unknown) => T | undefined, nodes?: string[], keep: (e: Evidence) => boolean = () => true): T | undefined {
  const calls = evidence.filter((e) => e.tool === tool && !isFailure(e.data) && keep(e));
  for (const group of nodes ? nodes.map((n) => calls.filter((e) => e.node === n)) : [calls]) {
    for (let i = group.length - 1; i >= 0; i--) {
      const v = parse(group[i]!.data);
      if (v !== undefined) return v;
    }
  }
  return undefined;
}

const parser =
  <T>(schema: { safeParse(d: unknown): { success: true; data: T } | { success: false } }) =>
  (d: unknown): T | undefined => {
    const r = schema.safeParse(d);
    return r.success ? r.data : undefined;
  };

function isFailure(data: unknown): data is { error: string } {
  return typeof data === "object" && data !== null && "error" in data && Object.keys(data).length === 1;
}

/** A call over more than the monitoring window: the look back past a deployment. */
const lookingBack = (config: AgentConfig) => (e: Evidence) => windowSecondsOf(e.args) > config.windowSeconds;
const againstOtherVersion = (e: Evidence) => typeof e.args.referenceVersion === "string";

/** The drift call asked for, or its result reports, this version. */
function analyses(e: Evidence, version: string): boolean {
  return e.args.version === version || (e.data as { version?: unknown } | null)?.version === version;
}

function windowSecondsOf(args: Record<string, unknown>): number {
  const w = args.window as { lastSeconds?: unknown } | undefined;
  return typeof w?.lastSeconds === "number" ? w.lastSeconds : 0;
}

export function extractFacts(evidence: Evidence[], config: AgentConfig, nowMs: number): Facts {
  const history = latest<DeploymentHistory>(evidence, "get_deployment_history", parser(deploymentsKind), ["investigate", "monitor"]);
  const back = lookingBack(config);
  const nowAcc = latest<AccuracyResult>(evidence, "get_model_accuracy", parser(accuracyKind), ["monitor", "investigate"], (e) => !back(e));
  const lookAcc =
    latest<AccuracyResult>(evidence, "get_model_accuracy", parser(accuracyKind), ["investigate", "monitor"], back) ??
    latest<AccuracyResult>(evidence, "get_model_accuracy", parser(accuracyKind), ["investigate", "monitor"]);
  const health = latest<HealthReport>(evidence, "get_model_health", parser(healthKind), ["monitor", "investigate"]);
  const logs = latest(evidence, "query_inference_logs", parser(logsSchema), ["investigate"]);
  const traffic = trafficOf(history);
  // The primary's inputs against its own baseline when there are several drift results (a canary's too).
  const ownDrift = (version?: string | null) =>
    latest<DriftReport>(evidence, "detect_data_drift", parser(driftKind), ["investigate", "monitor"], (e) => !againstOtherVersion(e) && (!version || analyses(e, version)));
  const drift = ownDrift(traffic?.primary) ?? ownDrift();

  const serving = servingFigures(traffic, nowAcc, health);
  const versions = new Map<string, VersionFigures>();
  for (const acc of [nowAcc, lookAcc]) {
    for (const v of acc?.byVersion ?? []) versions.set(v.version, versionFigures(v.version, v, health));
  }
  // A version that only the health result saw (it served before the window's labels): its latency still counts;
  // its usual latency too, for a version that served only before the window (the one a deployment replaced).
  for (const version of [...(health?.servedByVersion ?? []), ...(health?.baselines ?? [])].map((h) => h.version)) {
    if (!versions.has(version)) versions.set(version, versionFigures(version, undefined, health));
  }
  const labelledAny = Math.max(0, ...evidence.filter((e) => e.tool === "get_model_accuracy").map((e) => parser(accuracyKind)(e.data)?.labelled ?? 0));
  const recentDeployment = recentDeploymentOf(history, config.thresholds.recentDeploySeconds, nowMs);
  const reference = recentDeployment ? referenceDriftOf(evidence, recentDeployment, config) : null;
  return {
    traffic,
    recentDeployment,
    deploy: deployComparison({ recentDeployment, versions }, config),
    serving,
    versions,
    drift: drift ? driftFacts(drift, config) : null,
    referenceDrift: reference?.facts ?? null,
    mismatch: reference ? mismatchOf(reference.own, reference.facts, config) : [],
    accuracyOnset: lookAcc ? accuracyOnset(lookAcc, config) : null,
    primarySinceUs: primarySinceOf(history),
    latencyTrend: (health?.trend ?? []).map((b) => ({ startUs: b.startUs, rows: b.rows, p50: b.latencyMs?.p50 ?? null, p95: b.latencyMs?.p95 ?? null })),
    unseen: (drift?.features ?? [])
      .filter((f) => (f.unseen?.values?.length ?? 0) > 0 || (f.unseen?.current ?? 0) > 0)
      .map((f) => ({ feature: f.feature, share: f.unseen?.current ?? null, categories: (f.unseen?.values ?? []).map((v) => v.value) }))
      .sort((a, b) => (b.share ?? 0) - (a.share ?? 0)),
    missingRise: (drift?.features ?? [])
      .map((f) => ({ feature: f.feature, reference: f.missing.reference, current: f.missing.current, rise: f.missing.current - f.missing.reference }))
      .filter((m) => m.rise > 0)
      .sort((a, b) => b.rise - a.rise),
    labelledAny,
    wrongSamples: logs ? logs.rows.length : null,
    segments: (latest(evidence, "find_failing_segments", parser(segmentsSchema), ["investigate"])?.segments ?? [])
      .filter((x) => x.significant)
      .map((x) => ({ feature: x.feature, label: x.label, errorRate: x.current.errorRate, referenceErrorRate: x.reference.errorRate, labelled: x.current.labelled, adjustedPValue: x.adjustedPValue })),
    knownFeatures: new Set((drift?.features ?? []).map((f) => f.feature)),
  };
}

function trafficOf(history: DeploymentHistory | undefined): TrafficSnapshot | null {
  const state = history?.events.find((e) => e.state)?.state;
  return state ? { primary: state.primary, previous: state.previous, canary: state.canary ? { version: state.canary.version, percent: state.canary.percent } : null } : null;
}

/** The event that made the current primary primary: the oldest of the newest run of events that all have it. */
function primarySinceOf(history: DeploymentHistory | undefined): number | null {
  const events = (history?.events ?? []).filter((e) => e.state);
  const primary = events[0]?.state?.primary;
  if (!primary) return null;
  for (let i = 0; i < events.length - 1; i++) if (events[i + 1]!.state!.primary !== primary) return epochUs(events[i]!.ts);
  return history?.truncated ? null : epochUs(events[events.length - 1]!.ts);
}

/** The newest event that put a version in front of users (primary or canary), if recent enough. */
function recentDeploymentOf(history: DeploymentHistory | undefined, recentSeconds: number, nowMs: number): RecentDeployment | null {
  const events = history?.events ?? [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const older = events.slice(i + 1).find((o) => o.state)?.state ?? null;
    const s = e.state;
    if (!s) continue;
    const atUs = epochUs(e.ts);
    const ageSeconds = (nowMs * 1000 - atUs) / 1e6;
    if (ageSeconds > recentSeconds) return null;
    if (s.primary && s.primary !== (older?.primary ?? null)) {
      return { version: s.primary, previousVersion: s.previous ?? older?.primary ?? null, role: "primary", action: e.action, ageSeconds, atUs };
    }
    if (s.canary && s.canary.version !== older?.canary?.version) {
      return { version: s.canary.version, previousVersion: s.primary, role: "canary", action: e.action, ageSeconds, atUs };
    }
  }
  return null;
}

/** One version's figures: its accuracy, what its callers saw (servedByVersion) and its own baseline. */
function versionFigures(version: string, acc: AccuracyResult["byVersion"][number] | undefined, health: HealthReport | undefined): VersionFigures {
  const served = health?.servedByVersion.find((h) => h.version === version);
  return figures(version, acc, served, health?.baselines.find((b) => b.version === version) ?? null);
}

function figures(version: string | null, acc: AccuracyResult | AccuracyResult["byVersion"][number] | undefined, h: ServedVersion | undefined, history: VersionBaseline | null): VersionFigures {
  return {
    version,
    total: acc?.predictions ?? h?.rows ?? null,
    labelled: acc?.labelled ?? 0,
    realized: acc?.accuracy ?? null,
    interval: acc?.interval ?? null,
    estimated: acc?.estimated?.accuracy ?? null,
    baseline: acc?.baselineAccuracy ?? null,
    baselineRows: acc?.baselineRows ?? null,
    errorRate: h ? h.errorRate : null,
    p50Ms: h?.latencyMs?.p50 ?? null,
    p95Ms: h?.latencyMs?.p95 ?? null,
    p99Ms: h?.latencyMs?.p99 ?? null,
    errorsByReason: (h?.errorsByReason ?? []).map((r) => ({ reason: r.reason, rows: r.rows })).sort((a, b) => b.rows - a.rows),
    history,
  };
}

function servingFigures(traffic: TrafficSnapshot | null, acc: AccuracyResult | undefined, health: HealthReport | undefined): Facts["serving"] {
  const roles: [string | null | undefined, "primary" | "canary"][] = [
    [traffic?.primary, "primary"],
    [traffic?.canary?.version, "canary"],
  ];
  const out: Facts["serving"] = [];
  for (const [version, role] of roles) {
    if (!version) continue;
    const a = acc?.byVersion.find((v) => v.version === version);
    const h = health?.servedByVersion.find((v) => v.version === version);
    if (a || h) out.push({ ...versionFigures(version, a, health), role });
  }
  const model = health && { version: "", ...health.served, errorsByReason: health.errorsByReason };
  if (out.length === 0 && (acc || health)) out.push({ ...figures(null, acc, model, null), role: "model" });
  return out;
}

function driftFacts(drift: DriftReport, config: AgentConfig): DriftFacts {
  const ranked = [...drift.features].sort((a, b) => (b.psi ?? -1) - (a.psi ?? -1));
  return {
    version: drift.version,
    rows: drift.rows,
    datasetDrifted: drift.dataset?.drifted ?? false,
    share: drift.dataset?.share ?? null,
    predictionDrifted: drift.prediction?.drifted ?? false,
    ranked,
    shifted: ranked.filter((f) => f.drifted || (f.psi ?? 0) >= config.thresholds.psiMajor),
  };
}

/**
 * The deployed version's inputs against its predecessor's training baseline, and the newest drift of
 * the same version against its own, both needed to tell the traffic moving from the new version
 * having been trained on something else.
 */
function referenceDriftOf(evidence: Evidence[], dep: RecentDeployment, config: AgentConfig): { facts: DriftFacts & { referenceVersion: string }; own: DriftFacts } | null {
  if (!dep.previousVersion) return null;
  const of = (e: Evidence) => analyses(e, dep.version);
  const ref = latest<DriftReport>(evidence, "detect_data_drift", parser(driftKind), ["investigate", "monitor"], (e) => e.args.referenceVersion === dep.previousVersion && of(e));
  const own = latest<DriftReport>(evidence, "detect_data_drift", parser(driftKind), ["investigate", "monitor"], (e) => !againstOtherVersion(e) && of(e));
  if (!ref || !own || ref.features.length === 0) return null;
  return { facts: { ...driftFacts(ref, config), referenceVersion: dep.previousVersion }, own: driftFacts(own, config) };
}

/** Shifted against the version's own baseline, not against the previous version's: the new training data, not the traffic, differs. */
export function mismatchOf(own: DriftFacts, reference: DriftFacts, config: AgentConfig): Mismatch[] {
  // A clear contrast on PSI alone: a major move on one side, under half of it on the other, so the
  // sampling noise of a new version's first few hundred rows does not make one.
  const major = config.thresholds.psiMajor;
  return own.ranked.flatMap((f) => {
    const prev = reference.ranked.find((r) => r.feature === f.feature);
    if (!prev || (f.psi ?? 0) < major || (prev.psi ?? Infinity) >= major / 2) return [];
    return [{ feature: f.feature, psi: f.psi, previousPsi: prev.psi, missing: { training: f.missing.reference, traffic: f.missing.current } }];
  });
}

/** One split of a series of proportions (successes of trials per bucket): the one whose two sides differ most. */
export function changePoint(buckets: { startUs: number; successes: number; trials: number }[], minTrials: number): { index: number; before: number; after: number; pValue: number } | null {
  const used = buckets.filter((b) => b.trials > 0);
  const total = used.reduce((a, b) => ({ s: a.s + b.successes, n: a.n + b.trials }), { s: 0, n: 0 });
  let best: { index: number; z: number; before: number; after: number } | null = null;
  let s = 0;
  let n = 0;
  for (let k = 0; k < used.length - 1; k++) {
    s += used[k]!.successes;
    n += used[k]!.trials;
    if (n < minTrials || total.n - n < minTrials) continue;
    const { z } = twoProportionZTest(s, n, total.s - s, total.n - n);
    if (!best || Math.abs(z) > Math.abs(best.z)) best = { index: buckets.indexOf(used[k + 1]!), z, before: s / n, after: (total.s - s) / (total.n - n) };
  }
  if (!best) return null;
  // The best of several splits is tried: Bonferroni over them keeps the level honest.
  const pValue = Math.min(1, 2 * normalCdf(-Math.abs(best.z)) * Math.max(1, used.length - 1));
  return { index: best.index, before: best.before, after: best.after, pValue };
}

/** When accuracy fell over the trend: from realized accuracy when labelled buckets allow a test, else from CBPE's estimates. */
function accuracyOnset(acc: AccuracyResult, config: AgentConfig): Onset | null {
  const trend = acc.trend;
  if (trend.length < 3) return null;
  const bucketSeconds = (trend[1]!.startUs - trend[0]!.startUs) / 1e6;
  const realized = changePoint(
    trend.map((b) => ({ startUs: b.startUs, successes: Math.round((b.accuracy ?? 0) * b.labelled), trials: b.accuracy === null ? 0 : b.labelled })),
    config.thresholds.minLabelled / 2,
  );
  if (realized && realized.pValue < config.thresholds.deploy.pValue && realized.after < realized.before) {
    return { atUs: trend[realized.index]!.startUs, before: realized.before, after: realized.after, pValue: realized.pValue, source: "realized", bucketSeconds };
  }
  // CBPE's estimates have no sampling test here: only a move past the allowed drop counts.
  const estimated = changePoint(
    trend.map((b) => ({ startUs: b.startUs, successes: Math.round((b.estimated ?? 0) * b.predictions), trials: b.estimated === null ? 0 : b.predictions })),
    config.thresholds.minLabelled / 2,
  );
  if (estimated && estimated.before - estimated.after > config.slo.maxAccuracyDrop) {
    return { atUs: trend[estimated.index]!.startUs, before: estimated.before, after: estimated.after, pValue: null, source: "estimated", bucketSeconds };
  }
  return null;
}

/** Where an onset lies against a deployment: within one trend bucket of it, or clearly before it. */
export function onsetVsDeploy(onset: Onset, deployUs: number): "at_deploy" | "before" | "after" {
  const slack = onset.bucketSeconds * 1e6;
  if (onset.atUs < deployUs - slack) return "before";
  return onset.atUs > deployUs + slack ? "after" : "at_deploy";
}

// ── relative baselines ──────────────────────────────────────────────────────────────────────

/** A slowdown against a reference: the version's own first traffic, or the version a deployment replaced. */
export interface LatencyShift {
  against: "own" | "previous";
  /** The version whose reference period was used. */
  referenceVersion: string;
  scope: "all" | "share";
  /** Share of requests slow (own reference only). */
  share: number | null;
  text: string;
}

/** One-sided two-proportion test that a share rose: p of "a ≥ b" by chance. */
function riseP(a: number, n: number, b: number, m: number): number {
  const { z, pValue } = twoProportionZTest(a, n, b, m);
  return z > 0 ? pValue / 2 : 1;
}

const ms = (x: number) => `${x.toFixed(x < 10 ? 1 : 0)} ms`;

/**
 * A sustained slowdown against the version's own reference period: its median at least `ratio`
 * times and `minDeltaMs` over the reference's (all requests slower), or more requests slow (over the
 * reference median plus the server's margin and its p95) than in the reference period — `slowShare` more,
 * `ratio` times as many, beyond chance — and still so in the newer half, so a burst that ended does
 * not count. p95 and p99 are reported, not judged: a loaded host's stalls swing them.
 */
export function latencyAgainstBaseline(b: VersionBaseline | null, t: RelativeThresholds): LatencyShift | null {
  const c = b?.current;
  const ref = b?.reference.latencyMs;
  const refAnswered = b ? b.reference.rows - b.reference.errors : 0;
  if (!b || !c || !ref || !c.latencyMs || refAnswered < t.minReferenceRows) return null;
  const answered = c.rows - c.errors;
  if (answered < t.minRows) return null;
  const cur = c.latencyMs;
  const base = c.slow.reference.share;
  const medianMoved = cur.p50 >= t.ratio * ref.p50 && cur.p50 - ref.p50 >= t.minDeltaMs;
  const shareRose = c.slow.share - base >= t.slowShare && c.slow.share >= t.ratio * base && riseP(c.slow.rows, answered, c.slow.reference.rows, refAnswered) < t.pValue;
  const recentAnswered = c.recent.rows - c.recent.errors;
  const sustained = recentAnswered < t.minRows / 2 || c.recent.slowShare - base >= t.slowShare;
  if (!(medianMoved || shareRose) || !sustained) return null;
  const scope = medianMoved || c.slow.share >= t.allShare ? "all" : "share";
  const period = `its reference period (${b.reference.rows} requests from ${new Date(b.reference.fromUs / 1000).toISOString()}: p50 ${ms(ref.p50)}, p95 ${ms(ref.p95)}, p99 ${ms(ref.p99)})`;
  const slowText =
    `${pct(c.slow.share)} of ${answered} requests slower than ${ms(c.slow.thresholdMs)} (its reference median + margin, and p95)${c.slow.medianMs !== null ? `, median ${ms(c.slow.medianMs)} among them` : ""}, ` +
    `${pct(c.recent.slowShare)} in the newer half, against ${pct(base)} in ${period}`;
  const text =
    scope === "all"
      ? `all requests slower: p50 ${ms(cur.p50)} (×${(cur.p50 / Math.max(ref.p50, 1e-3)).toFixed(1)}, +${ms(cur.p50 - ref.p50)}), p95 ${ms(cur.p95)}; ${slowText}`
      : `a share of requests slower: ${slowText}; the rest as before (p50 ${ms(cur.p50)})`;
  return { against: "own", referenceVersion: b.version, scope, share: c.slow.share, text };
}

/**
 * A newly deployed version against the reference period of the version it replaced, slow from its
 * first request on: only the median is compared (two periods of different versions share no slow
 * count), so this reads "all requests slower".
 */
export function latencyAgainstPrevious(now: VersionFigures, previous: VersionFigures | undefined, t: RelativeThresholds): LatencyShift | null {
  const ref = previous?.history?.reference;
  if (!previous || !ref?.latencyMs || ref.rows - ref.errors < t.minRows || now.p50Ms === null || (now.total ?? 0) < t.minRows) return null;
  const base = ref.latencyMs;
  if (!(now.p50Ms >= t.ratio * base.p50 && now.p50Ms - base.p50 >= t.minDeltaMs)) return null;
  const text =
    `all requests slower: p50 ${ms(now.p50Ms)}${now.p95Ms !== null ? `, p95 ${ms(now.p95Ms)}` : ""} against p50 ${ms(base.p50)}, p95 ${ms(base.p95)} for v${previous.version} ` +
    `in its reference period (${ref.rows} requests), the median ×${(now.p50Ms / Math.max(base.p50, 1e-3)).toFixed(1)}`;
  return { against: "previous", referenceVersion: previous.version ?? "", scope: "all", share: null, text };
}

/** An error rate well over the version's own reference rate (absolute rise, factor and a one-sided test), still so in the newer half. */
export function errorsAgainstBaseline(b: VersionBaseline | null, t: RelativeThresholds): string | null {
  const c = b?.current;
  if (!b || !c || c.rows < t.minRows || b.reference.rows < t.minRows) return null;
  const ref = b.reference.errorRate;
  const risen = c.errorRate - ref >= t.errorRise && c.errorRate >= t.errorFactor * ref && riseP(c.errors, c.rows, b.reference.errors, b.reference.rows) < t.pValue;
  const sustained = c.recent.rows < t.minRows / 2 || c.recent.errorRate - ref >= t.errorRise;
  if (!risen || !sustained) return null;
  return `error rate ${pct(c.errorRate)} of ${c.rows} requests (${pct(c.recent.errorRate)} in the newer half) against ${pct(ref)} in its reference period (${b.reference.rows} requests)`;
}

/**
 * Whichever slowdown applies to a version: against its own reference, else (after a deployment of
 * it) against the version it replaced. The window mixes requests from before and after the onset;
 * when this version serves alone, the served trend says since when all of them (the median) or a
 * share (the p95) are slow.
 */
export function latencyShift(f: VersionFigures, facts: Pick<Facts, "recentDeployment" | "versions" | "latencyTrend" | "serving">, config: AgentConfig): LatencyShift | null {
  const own = latencyAgainstBaseline(f.history, config.thresholds.relative);
  const threshold = f.history?.current?.slow.thresholdMs;
  if (own && threshold !== undefined) {
    const since = facts.serving.length === 1 ? slowSince(facts.latencyTrend, threshold) : null;
    if (!since) return own;
    const what = since.scope === "all" ? `all requests slower since ${iso(since.sinceUs)} (the median over ${ms(threshold)} in every bucket since)` : `a share of requests slower since ${iso(since.sinceUs)} (the p95 over ${ms(threshold)} in every bucket since)`;
    return { ...own, scope: since.scope === "all" ? "all" : own.scope, text: `${what}; over the window, ${own.text}` };
  }
  if (own) return own;
  const dep = facts.recentDeployment;
  if (!dep?.previousVersion || f.version !== dep.version) return null;
  return latencyAgainstPrevious(f, facts.versions.get(dep.previousVersion), config.thresholds.relative);
}

/** The first bucket of the last unbroken run (up to now) of buckets whose `q` is over `thresholdMs`, and its length. */
export function latencyOnset(trend: Facts["latencyTrend"], thresholdMs: number, q: "p50" | "p95" = "p95"): { atUs: number; buckets: number } | null {
  let atUs = 0;
  let buckets = 0;
  for (const b of trend) {
    const v = b[q];
    if (b.rows === 0 || v === null) continue;
    if (v <= thresholdMs) buckets = 0;
    else if (buckets++ === 0) atUs = b.startUs;
  }
  return buckets > 0 ? { atUs, buckets } : null;
}

/** Since when all requests (median over the threshold) or a share (p95 over it) are slow, over at least `minBuckets` buckets. */
export function slowSince(trend: Facts["latencyTrend"], thresholdMs: number, minBuckets = 2): { scope: "all" | "share"; sinceUs: number } | null {
  const all = latencyOnset(trend, thresholdMs, "p50");
  if (all && all.buckets >= minBuckets) return { scope: "all", sinceUs: all.atUs };
  const share = latencyOnset(trend, thresholdMs, "p95");
  return share && share.buckets >= minBuckets ? { scope: "share", sinceUs: share.atUs } : null;
}

// ── deployments ─────────────────────────────────────────────────────────────────────────────

export interface DeployComparison {
  dep: RecentDeployment & { previousVersion: string };
  now: VersionFigures;
  prev: VersionFigures;
  /** Both measured the same way: realized when both have the labels, else estimated. */
  a: number;
  b: number;
  source: "realized" | "estimated";
  drop: number;
  /** One-sided two-proportion test that the new version is less accurate (realized only). */
  pValue: number | null;
  /** Past the allowed drop, or at least `deploy.minDrop` lower beyond chance. */
  clear: boolean;
}

/** The recently deployed version's accuracy against the version it replaced, over the longest window looked at. */
export function deployComparison(facts: Pick<Facts, "recentDeployment" | "versions">, config: AgentConfig): DeployComparison | null {
  const dep = facts.recentDeployment;
  if (!dep?.previousVersion) return null;
  const now = facts.versions.get(dep.version);
  const prev = facts.versions.get(dep.previousVersion);
  if (!now || !prev) return null;
  const c = comparable(now, prev, config.thresholds.minLabelled);
  if (!c || estimatesOutweighedByLabels(c.source, now, prev, config)) return null;
  const drop = c.b - c.a;
  let pValue: number | null = null;
  if (c.source === "realized") {
    const { z, pValue: p } = twoProportionZTest(Math.round(c.b * prev.labelled), prev.labelled, Math.round(c.a * now.labelled), now.labelled);
    pValue = z > 0 ? p / 2 : 1;
  }
  const t = config.thresholds.deploy;
  const clear = drop > config.slo.maxAccuracyDrop || (pValue !== null && drop >= t.minDrop && pValue < t.pValue);
  return { dep: { ...dep, previousVersion: dep.previousVersion }, now, prev, a: c.a, b: c.b, source: c.source, drop, pValue, clear };
}

/**
 * Estimates compared only because the replaced version has no labels in the window, while the new
 * one has enough and they reach the replaced version's estimate within the allowed drop: the labels
 * win. CBPE assumes the inputs' meaning stands, so after a concept change the replaced version's
 * estimate is its pre-change calibration talking (a verified retrain was rolled back on exactly
 * that). A bad deploy shows in its labels: they fall short of that estimate, whatever the new
 * version's own held-out accuracy (one trained on noisy labels measured itself low too).
 */
function estimatesOutweighedByLabels(source: "realized" | "estimated", now: VersionFigures, prev: VersionFigures, config: AgentConfig): boolean {
  if (source !== "estimated" || now.realized === null || prev.estimated === null || now.labelled < config.thresholds.minLabelled) return false;
  return now.realized >= prev.estimated - config.slo.maxAccuracyDrop;
}

/** Realized accuracy when enough rows are labelled (labelsToJudge), else CBPE's estimate, else nothing. */
export function accuracyOf(f: Pick<VersionFigures, "labelled" | "realized" | "estimated" | "baseline">, config: AgentConfig): { value: number; source: "realized" | "estimated" } | null {
  if (f.realized !== null && f.labelled >= labelsToJudge(f, config)) return { value: f.realized, source: "realized" };
  if (f.estimated !== null) return { value: f.estimated, source: "estimated" };
  return null;
}

/**
 * Labels needed before a version's realized accuracy is judged: the minimum, or more for a less
 * accurate version, enough that the binomial noise around its held-out accuracy p cannot pass for a
 * fall of the allowed drop d at the judging level: n ≥ (z·√(p(1−p)) / d)². At 95% that is 182 (the
 * minimum of 200 rules); at 86% it is 449. The monitor looks at every poll: on the pumps data set
 * (86%), the first 201 labels of a control read 7.8 points under, and paged a person.
 */
export function labelsToJudge(f: Pick<VersionFigures, "baseline">, config: AgentConfig): number {
  const min = config.thresholds.minLabelled;
  const p = f.baseline;
  if (p === null || !(p > 0 && p < 1)) return min;
  const z = normalQuantile(1 - config.thresholds.heldOut.judgeLevel);
  return Math.max(min, Math.ceil(((z * Math.sqrt(p * (1 - p))) / config.slo.maxAccuracyDrop) ** 2));
}

/** Two versions measured the same way: realized for both when both have the labels, else estimated for both. */
export function comparable(a: VersionFigures, b: VersionFigures, minLabelled: number): { a: number; b: number; source: "realized" | "estimated" } | null {
  if (a.realized !== null && b.realized !== null && a.labelled >= minLabelled && b.labelled >= minLabelled) return { a: a.realized, b: b.realized, source: "realized" };
  if (a.estimated !== null && b.estimated !== null) return { a: a.estimated, b: b.estimated, source: "estimated" };
  return null;
}

/**
 * Accuracy below the floor, or more than the allowed drop under the version's own baseline. Under
 * the floor but as good as the held-out accuracy said it would be is not a breach: the model serves
 * as trained, so no retrain on the same population is known to do better (that is `accuracyNotice`).
 * A significant drop under the held-out accuracy within the SLO is not one either: the held-out
 * split is never quite the served population, and as a breach (p < 0.001, ≥ 2 points) it raised
 * false alarms on two of 21 held-out control runs.
 */
export function accuracyBreach(f: VersionFigures, config: AgentConfig, deploy: DeployComparison | null = null): string | null {
  const acc = accuracyOf(f, config);
  if (!acc) return null;
  const label = `${acc.source} accuracy ${pct(acc.value)}${acc.source === "realized" ? ` (n=${f.labelled})` : ""}`;
  if (acc.value < config.slo.minAccuracy && !servingAsTrained(f, acc.value, config, deploy)) return `${label} < SLO ${pct(config.slo.minAccuracy)}`;
  if (f.baseline !== null && f.baseline - acc.value > config.slo.maxAccuracyDrop) return `${label} is ${points(f.baseline - acc.value)} under its baseline ${pct(f.baseline)}`;
  return null;
}

/**
 * Realized accuracy fell at one point of the window and stayed down, while the primary alone served
 * it and after it began serving: the model against its own served accuracy, which catches a slow or
 * mild concept drift still inside the SLO's allowed drop. Unlike the held-out split (see
 * accuracyBreach), the earlier traffic is the same population, so a stable one does not trip it.
 * The test level is the relative baselines' (latency, errors), the drop the deploy rule's.
 */
export function accuracyFall(facts: Facts, config: AgentConfig): string | null {
  const o = facts.accuracyOnset;
  const primary = facts.serving[0];
  if (!o || o.source !== "realized" || o.pValue === null || facts.serving.length !== 1 || primary?.role !== "primary") return null;
  if (facts.primarySinceUs === null || o.atUs <= facts.primarySinceUs + o.bucketSeconds * 1e6) return null;
  const drop = o.before - o.after;
  if (drop < config.thresholds.deploy.minDrop || o.pValue >= config.thresholds.relative.pValue) return null;
  return `realized accuracy fell from ${pct(o.before)} to ${pct(o.after)} at ${new Date(o.atUs / 1000).toISOString()} and stayed there (change point, p=${o.pValue.toPrecision(2)})`;
}

/**
 * Inputs that moved and realized accuracy significantly under the held-out accuracy, together: the
 * shift is costing accuracy, though less than the SLO's allowed drop. Without the shift the held-out
 * comparison alone raised false alarms (see accuracyBreach); a shift with no such cost is harmless
 * drift. A shift can only cost accuracy through features the model relies on: when every shifted
 * feature's importance is negligible, a gap to the held-out accuracy is not the shift's (on the
 * suite, a 2.7-point dip at p=0.002 on 700 labels beside a shift of an unused feature recovered by
 * itself). Only without a recent deployment: then the deploy rules compare versions instead.
 */
export function shiftImpact(f: VersionFigures, facts: Facts, config: AgentConfig): string | null {
  const drift = facts.drift;
  if (!drift || facts.recentDeployment || f.realized === null || f.baseline === null) return null;
  const psi = Math.max(0, ...drift.ranked.map((d) => d.psi ?? 0));
  const moved = (drift.rows ?? 0) >= config.thresholds.minDriftRows && (drift.datasetDrifted || psi >= config.thresholds.psiMajor);
  const shifted = moved && !(drift.shifted.length > 0 && drift.shifted.every((d) => negligibleImportance(d.importance, config)));
  const p = heldOutP(f, config);
  if (!shifted || p === null || p >= config.thresholds.deploy.pValue || f.baseline - f.realized < config.thresholds.deploy.minDrop) return null;
  return `realized accuracy ${pct(f.realized)} (n=${f.labelled}) is ${points(f.baseline - f.realized)} under its held-out ${pct(f.baseline)} (one-sided p=${p.toPrecision(2)}) while its inputs shifted`;
}

/** The primary's accuracy problem, if any: a breach of its SLOs, else a fall against its own served accuracy, else a shift's cost. */
export function accuracyProblem(f: VersionFigures, facts: Facts, config: AgentConfig): string | null {
  const breach = accuracyBreach(f, config, facts.deploy);
  if (breach || f !== facts.serving[0]) return breach;
  return accuracyFall(facts, config) ?? shiftImpact(f, facts, config);
}

/**
 * Under the SLO's floor because the version never did better: with enough labels, live accuracy is
 * not significantly under its held-out accuracy; before them (CBPE's estimate, a few labels), a
 * version whose held-out accuracy was itself under the floor and which is within the allowed drop of
 * it. A model built for an 86% problem is then judged against its own 86%, not the 90% floor, and
 * a real fall still breaches the drop rule.
 */
function servingAsTrained(f: VersionFigures, value: number, config: AgentConfig, deploy: DeployComparison | null): boolean {
  const p = heldOutP(f, config);
  if (p !== null) return p >= config.thresholds.heldOut.asTrainedLevel;
  // A version just deployed that serves worse than the one it replaced is no ceiling of the problem:
  // its held-out accuracy is low because it is a worse model (a release trained on noisy labels).
  const servesWorseThanReplaced = deploy?.clear === true && deploy.dep.version === f.version;
  return !servesWorseThanReplaced && f.baseline !== null && f.baseline < config.slo.minAccuracy && f.baseline - value <= config.slo.maxAccuracyDrop;
}

/** Under the accuracy floor while serving as trained: recorded for a person, not an incident. */
export function accuracyNotice(f: VersionFigures, config: AgentConfig, deploy: DeployComparison | null = null): string | null {
  const p = accuracyBreach(f, config, deploy) ? null : heldOutP(f, config);
  if (p === null || f.realized! >= config.slo.minAccuracy) return null;
  return `realized accuracy ${pct(f.realized!)} (n=${f.labelled}) < SLO ${pct(config.slo.minAccuracy)}, as trained: its held-out accuracy was ${pct(f.baseline!)} on ${f.baselineRows} rows (one-sided p=${p.toPrecision(2)} ≥ ${config.thresholds.heldOut.asTrainedLevel}); a retrain on the same population is not expected to do better — the SLO or the features need a person`;
}

/**
 * The one-sided p-value (two-proportion z) that live realized accuracy is below the version's
 * held-out accuracy; null when labels or the held-out size are not known.
 */
function heldOutP(f: VersionFigures, config: AgentConfig): number | null {
  if (f.realized === null || f.baseline === null || !f.baselineRows || f.labelled < labelsToJudge(f, config)) return null;
  const nb = Math.round(f.baselineRows);
  const { z, pValue } = twoProportionZTest(Math.round(f.baseline * nb), nb, Math.round(f.realized * f.labelled), f.labelled);
  return z > 0 ? pValue / 2 : 1 - pValue / 2;
}

/**
 * The latency SLO "p99 ≤ X" allows 1% of requests over X. A window breaches it when the budget burns
 * five times too fast, i.e. more than 5% of requests are over X, i.e. p95 > X. A p99 over X alone is
 * one request in a hundred: a busy host's short stall does that, a slower model version does more.
 */
export function latencyBreach(f: VersionFigures, config: AgentConfig): string | null {
  if (f.p95Ms === null || f.p95Ms <= config.slo.maxP99Ms) return null;
  return `p95 latency ${f.p95Ms.toFixed(0)} ms (p99 ${(f.p99Ms ?? f.p95Ms).toFixed(0)} ms): over 5% of requests slower than the ${config.slo.maxP99Ms} ms p99 SLO`;
}

/** What is recorded but opens no incident, for the serving versions. */
export function sloNotices(facts: Facts, config: AgentConfig): string[] {
  const notices = facts.serving.flatMap((f) => {
    const n = accuracyNotice(f, config, facts.deploy);
    return n ? [`${f.version ? `${f.role} v${f.version}` : "model"}: ${n}`] : [];
  });
  const unimportant = unimportantDrift(facts, config);
  if (unimportant) notices.push(unimportantDriftNotice(facts, unimportant, config));
  return notices;
}

/**
 * The window's dataset-drift verdict as the SLOs read it. The distance tests used against a large
 * reference (Wasserstein, Jensen-Shannon) have fixed thresholds that ignore the window's size: on a
 * few hundred rows their noise alone can pass them, hence the minimum.
 */
function datasetDriftSeen(facts: Facts, config: AgentConfig): boolean {
  const enoughRows = (facts.drift?.rows ?? Infinity) >= config.thresholds.minDriftRows;
  return !!facts.drift && enoughRows && (facts.drift.datasetDrifted || (facts.drift.share ?? 0) >= config.thresholds.driftShare);
}

/**
 * The model does not rely on a feature when shuffling its column costs less than half a point of
 * accuracy, or no more than the shuffles' own standard error (a drop the permutation noise alone
 * could give). A drifted feature under that bound cannot move accuracy much while the relation to
 * the label holds; an unknown importance is never negligible.
 */
export function negligibleImportance(i: FeatureImportanceView | null, config: AgentConfig): boolean {
  return i !== null && (i.accuracyDrop < config.thresholds.negligibleImportance || i.accuracyDrop <= i.standardError);
}

/**
 * The shifted features, when inputs moved only on features the model barely relies on and no
 * serving version has an accuracy problem (accuracyProblem) or fell at a deployment:
 * recorded as a notice, no remediation, whether or not the dataset verdict tripped. Null
 * otherwise; a dataset drift then counts as a breach, as it always did.
 */
export function unimportantDrift(facts: Facts, config: AgentConfig): FeatureDrift[] | null {
  const shifted = facts.drift?.shifted ?? [];
  const enoughRows = (facts.drift?.rows ?? Infinity) >= config.thresholds.minDriftRows;
  if (!enoughRows || shifted.length === 0 || !shifted.every((f) => negligibleImportance(f.importance, config))) return null;
  const impact = facts.serving.some((f) => accuracyProblem(f, facts, config) !== null) || facts.deploy?.clear === true;
  return impact ? null : shifted;
}

function unimportantDriftNotice(facts: Facts, features: FeatureDrift[], config: AgentConfig): string {
  const items = features.map((f) => `${f.feature} (PSI ${(f.psi ?? 0).toFixed(2)}, importance ${(f.importance!.accuracyDrop * 100).toFixed(1)} ± ${(f.importance!.standardError * 100).toFixed(1)} points, rank ${f.importance!.rank} of ${f.importance!.of})`);
  const accuracy = facts.serving.flatMap((f) => {
    const a = accuracyOf(f, config);
    return a ? [`${a.source} accuracy ${pct(a.value)}`] : [];
  });
  return `input drift only on features the model barely relies on: ${items.join(", ")}; no accuracy impact${accuracy.length ? ` (${accuracy.join(", ")})` : ""}: recorded, no remediation`;
}

/** Every SLO breach in words, for the serving versions; empty means healthy. */
export function sloViolations(facts: Facts, config: AgentConfig): string[] {
  const out: string[] = [];
  for (const f of facts.serving) {
    const who = f.version ? `${f.role} v${f.version}` : "model";
    const acc = accuracyProblem(f, facts, config);
    if (acc) out.push(`${who}: ${acc}`);
    if (f.errorRate !== null && f.errorRate > config.slo.maxErrorRate) out.push(`${who}: error rate ${pct(f.errorRate)} > SLO ${pct(config.slo.maxErrorRate)}`);
    const slow = latencyBreach(f, config);
    if (slow) out.push(`${who}: ${slow}`);
    // Relative SLOs: the version against its own usual figures, while still under the absolute ones.
    const shift = slow ? null : latencyShift(f, facts, config);
    if (shift) out.push(`${who}: latency regression against ${shift.against === "own" ? "its own" : `v${shift.referenceVersion}'s`} reference period: ${shift.text}`);
    const errors = f.errorRate !== null && f.errorRate > config.slo.maxErrorRate ? null : errorsAgainstBaseline(f.history, config.thresholds.relative);
    if (errors) out.push(`${who}: ${errors}`);
  }
  const dep = facts.deploy;
  if (dep?.clear) {
    out.push(`v${dep.dep.version} (deployed ${Math.round(dep.dep.ageSeconds / 60)} min ago): ${dep.source} accuracy ${pct(dep.a)} against ${pct(dep.b)} for v${dep.dep.previousVersion}${dep.pValue !== null ? ` (p=${dep.pValue.toPrecision(2)})` : ""}`);
  }
  if (facts.mismatch.length > 0 && facts.recentDeployment) {
    out.push(`v${facts.recentDeployment.version} was trained on inputs unlike its traffic: ${facts.mismatch.map((m) => m.feature).join(", ")} drift against its own baseline, not against v${facts.recentDeployment.previousVersion}'s`);
  }
  // Drift only on features the model barely uses, without an accuracy impact, is a notice instead.
  if (facts.drift && datasetDriftSeen(facts, config) && !unimportantDrift(facts, config)) {
    out.push(`dataset drift: ${facts.drift.shifted.length} feature(s) drifted${facts.drift.share !== null ? ` (share ${pct(facts.drift.share)})` : ""}`);
  }
  // One input can break a model while the dataset verdict (a share of all features) stays calm.
  const unseen = facts.unseen.find((u) => (u.share ?? 0) > config.thresholds.unseenShare);
  if (unseen) out.push(`${unseen.feature}: ${pct(unseen.share ?? 0)} of values never seen in training`);
  const missing = facts.missingRise.find((m) => m.rise > config.thresholds.missingRise);
  if (missing) out.push(`${missing.feature}: missing in ${pct(missing.current)} of rows (was ${pct(missing.reference)})`);
  return out;
}

export function points(x: number): string {
  return `${(x * 100).toFixed(1)} points`;
}

export function figuresOf(f: VersionFigures | undefined, config: AgentConfig): Figures {
  const acc = f ? accuracyOf(f, config) : null;
  return {
    accuracy: acc?.value ?? null,
    accuracySource: acc?.source ?? null,
    rows: f?.total ?? 0,
    labelled: f?.labelled ?? 0,
    errorRate: f?.errorRate ?? null,
    p99Ms: f?.p99Ms ?? null,
  };
}
