import type { AgentConfig } from "./configuration.ts";
import type { Evidence, Figures, TrafficSnapshot } from "./state.ts";
import {
  accuracySchema,
  deploymentsSchema,
  driftSchema,
  healthSchema,
  logsSchema,
  type AccuracyResult,
  type DeploymentHistory,
  type DriftFeature,
  type DriftResult,
  type HealthResult,
} from "./tools.ts";

// Evidence (tool calls and their parsed results) → the facts the rules, the check and the SLOs read.
// Pure: the same evidence always gives the same facts, so reasoners are testable from fixtures.

export interface VersionFigures {
  version: string | null;
  total: number | null;
  labelled: number;
  realized: number | null;
  interval: { low: number; high: number } | null;
  estimated: number | null;
  /** The version's held-out accuracy, when the server reports it. */
  baseline: number | null;
  errorRate: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  errorsByReason: { reason: string; count: number }[];
}

export interface RecentDeployment {
  version: string;
  previousVersion: string | null;
  role: "primary" | "canary";
  action: string;
  ageSeconds: number;
}

export interface Facts {
  traffic: TrafficSnapshot | null;
  recentDeployment: RecentDeployment | null;
  /** The versions serving now (primary, canary), over the monitoring window; the whole model when traffic is unknown. */
  serving: (VersionFigures & { role: "primary" | "canary" | "model" })[];
  /** Every version seen over the longest window looked at: what comparisons use. */
  versions: Map<string, VersionFigures>;
  drift: { datasetDrifted: boolean; share: number | null; predictionDrifted: boolean; ranked: DriftFeature[]; shifted: DriftFeature[] } | null;
  unseen: { feature: string; share: number | null; categories: string[] }[];
  missingRise: { feature: string; reference: number; current: number; rise: number }[];
  /** Most labelled rows any accuracy result reported: 0 means no ground truth at all. */
  labelledAny: number;
  wrongSamples: number | null;
  knownFeatures: Set<string>;
}

/** The newest result of a tool, from the first of `nodes` that called it (any node when none are named). */
function latest<T>(evidence: Evidence[], tool: string, parse: (d: unknown) => T | undefined, nodes?: string[]): T | undefined {
  const calls = evidence.filter((e) => e.tool === tool && !isFailure(e.data));
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

export function extractFacts(evidence: Evidence[], config: AgentConfig, nowMs: number): Facts {
  const history = latest<DeploymentHistory>(evidence, "get_deployment_history", parser(deploymentsSchema), ["investigate", "monitor"]);
  const nowAcc = latest<AccuracyResult>(evidence, "get_model_accuracy", parser(accuracySchema), ["monitor", "investigate"]);
  const lookAcc = latest<AccuracyResult>(evidence, "get_model_accuracy", parser(accuracySchema), ["investigate", "monitor"]);
  const health = latest<HealthResult>(evidence, "get_model_health", parser(healthSchema), ["monitor", "investigate"]);
  const drift = latest<DriftResult>(evidence, "detect_data_drift", parser(driftSchema), ["investigate", "monitor"]);
  const logs = latest(evidence, "query_inference_logs", parser(logsSchema), ["investigate"]);

  const traffic = trafficOf(history);
  const serving = servingFigures(traffic, nowAcc, health);
  const versions = new Map<string, VersionFigures>();
  for (const acc of [nowAcc, lookAcc]) {
    for (const v of acc?.byVersion ?? []) versions.set(v.version, figures(v.version, v, health?.byVersion.find((h) => h.version === v.version)));
  }
  const labelledAny = Math.max(0, ...evidence.filter((e) => e.tool === "get_model_accuracy").map((e) => parser(accuracySchema)(e.data)?.labelled ?? 0));
  return {
    traffic,
    recentDeployment: recentDeploymentOf(history, config.thresholds.recentDeploySeconds, nowMs),
    serving,
    versions,
    drift: drift ? driftFacts(drift, config) : null,
    unseen: (drift?.features ?? [])
      .filter((f) => f.unseenCategories.length > 0 || (f.unseenShare ?? 0) > 0)
      .map((f) => ({ feature: f.feature, share: f.unseenShare, categories: f.unseenCategories.map((c) => c.category) }))
      .sort((a, b) => (b.share ?? 0) - (a.share ?? 0)),
    missingRise: (drift?.features ?? [])
      .filter((f) => f.missingRate.current !== null)
      .map((f) => {
        const reference = f.missingRate.reference ?? 0;
        const current = f.missingRate.current ?? 0;
        return { feature: f.feature, reference, current, rise: current - reference };
      })
      .filter((m) => m.rise > 0)
      .sort((a, b) => b.rise - a.rise),
    labelledAny,
    wrongSamples: logs ? logs.rows.length : null,
    knownFeatures: new Set((drift?.features ?? []).map((f) => f.feature)),
  };
}

function trafficOf(history: DeploymentHistory | undefined): TrafficSnapshot | null {
  const state = history?.events.find((e) => e.state)?.state;
  return state ? { primary: state.primary, previous: state.previous, canary: state.canary ? { version: state.canary.version, percent: state.canary.percent } : null } : null;
}

/** The newest event that put a version in front of users (primary or canary), if recent enough. */
function recentDeploymentOf(history: DeploymentHistory | undefined, recentSeconds: number, nowMs: number): RecentDeployment | null {
  const events = history?.events ?? [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const older = events.slice(i + 1).find((o) => o.state)?.state ?? null;
    const s = e.state;
    if (!s) continue;
    const ageSeconds = (nowMs * 1000 - e.ts) / 1e6;
    if (ageSeconds > recentSeconds) return null;
    if (s.primary && s.primary !== (older?.primary ?? null)) {
      return { version: s.primary, previousVersion: s.previous ?? older?.primary ?? null, role: "primary", action: e.action, ageSeconds };
    }
    if (s.canary && s.canary.version !== older?.canary?.version) {
      return { version: s.canary.version, previousVersion: s.primary, role: "canary", action: e.action, ageSeconds };
    }
  }
  return null;
}

function figures(version: string | null, acc: AccuracyResult | AccuracyResult["byVersion"][number] | undefined, h: HealthResult | HealthResult["byVersion"][number] | undefined): VersionFigures {
  return {
    version,
    total: acc?.total ?? h?.total ?? null,
    labelled: acc?.labelled ?? 0,
    realized: acc?.accuracy ?? null,
    interval: acc?.interval ? { low: acc.interval.low, high: acc.interval.high } : null,
    estimated: acc?.estimatedAccuracy ?? null,
    baseline: acc?.baselineAccuracy ?? null,
    errorRate: h ? h.errorRate : null,
    p95Ms: h?.latencyMs.p95 ?? null,
    p99Ms: h?.latencyMs.p99 ?? null,
    errorsByReason: (h?.errorsByReason ?? []).map((r) => ({ reason: r.reason, count: r.count })).sort((a, b) => b.count - a.count),
  };
}

function servingFigures(traffic: TrafficSnapshot | null, acc: AccuracyResult | undefined, health: HealthResult | undefined): Facts["serving"] {
  const roles: [string | null | undefined, "primary" | "canary"][] = [
    [traffic?.primary, "primary"],
    [traffic?.canary?.version, "canary"],
  ];
  const out: Facts["serving"] = [];
  for (const [version, role] of roles) {
    if (!version) continue;
    const a = acc?.byVersion.find((v) => v.version === version);
    const h = health?.byVersion.find((v) => v.version === version);
    if (a || h) out.push({ ...figures(version, a, h), role });
  }
  if (out.length === 0 && (acc || health)) out.push({ ...figures(null, acc, health), role: "model" });
  return out;
}

function driftFacts(drift: DriftResult, config: AgentConfig): NonNullable<Facts["drift"]> {
  const ranked = [...drift.features].sort((a, b) => (b.psi ?? -1) - (a.psi ?? -1));
  return {
    datasetDrifted: drift.dataset.drifted,
    share: drift.dataset.share,
    predictionDrifted: drift.prediction?.drifted ?? false,
    ranked,
    shifted: ranked.filter((f) => f.drifted || (f.psi ?? 0) >= config.thresholds.psiMajor),
  };
}


/** Realized accuracy when enough rows are labelled, else CBPE's estimate, else nothing. */
export function accuracyOf(f: Pick<VersionFigures, "labelled" | "realized" | "estimated">, minLabelled: number): { value: number; source: "realized" | "estimated" } | null {
  if (f.realized !== null && f.labelled >= minLabelled) return { value: f.realized, source: "realized" };
  if (f.estimated !== null) return { value: f.estimated, source: "estimated" };
  return null;
}

/** Two versions measured the same way: realized for both when both have the labels, else estimated for both. */
export function comparable(a: VersionFigures, b: VersionFigures, minLabelled: number): { a: number; b: number; source: "realized" | "estimated" } | null {
  if (a.realized !== null && b.realized !== null && a.labelled >= minLabelled && b.labelled >= minLabelled) return { a: a.realized, b: b.realized, source: "realized" };
  if (a.estimated !== null && b.estimated !== null) return { a: a.estimated, b: b.estimated, source: "estimated" };
  return null;
}

/** Accuracy below the floor, or more than the allowed drop under the version's own baseline. */
export function accuracyBreach(f: VersionFigures, config: AgentConfig): string | null {
  const acc = accuracyOf(f, config.thresholds.minLabelled);
  if (!acc) return null;
  const label = `${acc.source} accuracy ${pct(acc.value)}${acc.source === "realized" ? ` (n=${f.labelled})` : ""}`;
  if (acc.value < config.slo.minAccuracy) return `${label} < SLO ${pct(config.slo.minAccuracy)}`;
  if (f.baseline !== null && f.baseline - acc.value > config.slo.maxAccuracyDrop) return `${label} is ${points(f.baseline - acc.value)} under its baseline ${pct(f.baseline)}`;
  return null;
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

/** Every SLO breach in words, for the serving versions; empty means healthy. */
export function sloViolations(facts: Facts, config: AgentConfig): string[] {
  const out: string[] = [];
  for (const f of facts.serving) {
    const who = f.version ? `${f.role} v${f.version}` : "model";
    const acc = accuracyBreach(f, config);
    if (acc) out.push(`${who}: ${acc}`);
    if (f.errorRate !== null && f.errorRate > config.slo.maxErrorRate) out.push(`${who}: error rate ${pct(f.errorRate)} > SLO ${pct(config.slo.maxErrorRate)}`);
    const slow = latencyBreach(f, config);
    if (slow) out.push(`${who}: ${slow}`);
  }
  if (facts.drift && (facts.drift.datasetDrifted || (facts.drift.share ?? 0) >= config.thresholds.driftShare)) {
    out.push(`dataset drift: ${facts.drift.shifted.length} feature(s) drifted${facts.drift.share !== null ? ` (share ${pct(facts.drift.share)})` : ""}`);
  }
  // One input can break a model while the dataset verdict (a share of all features) stays calm.
  const unseen = facts.unseen.find((u) => (u.share ?? 0) > config.thresholds.unseenShare);
  if (unseen) out.push(`${unseen.feature}: ${pct(unseen.share ?? 0)} of values never seen in training`);
  const missing = facts.missingRise.find((m) => m.rise > config.thresholds.missingRise);
  if (missing) out.push(`${missing.feature}: missing in ${pct(missing.current)} of rows (was ${pct(missing.reference)})`);
  return out;
}

export function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

export function points(x: number): string {
  return `${(x * 100).toFixed(1)} points`;
}

export function figuresOf(f: VersionFigures | undefined, minLabelled: number): Figures {
  const acc = f ? accuracyOf(f, minLabelled) : null;
  return {
    accuracy: acc?.value ?? null,
    accuracySource: acc?.source ?? null,
    rows: f?.total ?? 0,
    labelled: f?.labelled ?? 0,
    errorRate: f?.errorRate ?? null,
    p99Ms: f?.p99Ms ?? null,
  };
}
