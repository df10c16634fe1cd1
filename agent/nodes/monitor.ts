import type { AgentConfig } from "../configuration.ts";
import { pct } from "../../format.ts";
import { accuracyOf, extractFacts, sloNotices, sloViolations, type Facts } from "../facts.ts";
import type { AgentStateType, AgentUpdate, Evidence, Observations } from "../state.ts";
import { entry, numbered, observe, evidenceSummary, type AgentDeps } from "./common.ts";

/**
 * Health (with each version's own latency and error-rate history), accuracy (realized, or CBPE's
 * estimate while labels lag), drift verdict and traffic, against the SLOs — and, while a deployment
 * is recent, the new version against the one it replaced: its accuracy over a window reaching back
 * past the deploy, and its inputs against both versions' training baselines.
 */
export async function monitor(state: AgentStateType, deps: AgentDeps): Promise<AgentUpdate> {
  const { tools, config } = deps;
  const window = { lastSeconds: config.windowSeconds };
  const args = { model: state.model, window };
  const calls = await Promise.all([
    observe("monitor", "get_model_health", args, () => tools.health(args), evidenceSummary.health),
    observe("monitor", "get_model_accuracy", args, () => tools.accuracy(args), evidenceSummary.accuracy),
    observe("monitor", "detect_data_drift", args, () => tools.drift(args), evidenceSummary.drift),
    observe("monitor", "get_deployment_history", { model: state.model, limit: 10 }, () => tools.deployments({ model: state.model, limit: 10 }), evidenceSummary.deployments),
  ]);
  const first = numbered(state, calls.map((c) => c.evidence));
  const more = await lookbackChecks(state.model, deps, extractFacts(first, config, deps.now()));
  const evidence = [...first, ...numbered({ evidence: [...state.evidence, ...first] }, more)];
  const facts = extractFacts(evidence, config, deps.now());
  const violations = sloViolations(facts, config);
  const notices = sloNotices(facts, config);
  const primary = facts.serving[0];
  const observations: Observations = {
    window,
    health: primary && primary.errorRate !== null ? { total: primary.total ?? 0, errorRate: primary.errorRate, p99Ms: primary.p99Ms } : null,
    accuracy: primary
      ? { realized: primary.realized, labelled: primary.labelled, estimated: primary.estimated, baseline: primary.baseline, coverage: calls[1].data?.labelCoverage ?? null }
      : null,
    drift: facts.drift ? { drifted: facts.drift.datasetDrifted, share: facts.drift.share, top: facts.drift.ranked.slice(0, 5).map((f) => ({ feature: f.feature, psi: f.psi, drifted: f.drifted })) } : null,
    violations,
    notices,
  };
  const alert = state.trigger.kind === "alert" ? state.trigger.alert : null;
  const acc = primary ? accuracyOf(primary, config) : null;
  const event = violations.length
    ? `SLO breach: ${violations.join("; ")}`
    : alert
      ? `alert ${alert.alertname} fired; SLOs look met (${acc ? `${acc.source} accuracy ${pct(acc.value)}` : "no accuracy yet"}), investigating anyway`
      : notices.length
        ? `healthy, with a notice: ${notices.join("; ")}`
        : "healthy";
  return {
    observations,
    evidence,
    status: violations.length || alert ? "investigating" : "healthy",
    timeline: [entry(deps, "monitor", event)],
  };
}

/** The look back past a deployment: longer than the monitoring window when the deploy may be older than it. */
export function lookbackWindow(config: AgentConfig): { lastSeconds: number } {
  return { lastSeconds: Math.max(config.windowSeconds, config.thresholds.recentDeploySeconds) };
}

/**
 * The model's accuracy over the look back, always: a mild fall is only significant over a longer
 * trend than the monitoring window (accuracyFall). While a version replaced another recently, also
 * its inputs against its predecessor's training baseline.
 */
async function lookbackChecks(model: string, deps: AgentDeps, facts: Facts): Promise<Omit<Evidence, "id">[]> {
  const { tools, config } = deps;
  const window = { lastSeconds: config.windowSeconds };
  const lookback = lookbackWindow(config);
  const calls: Promise<{ evidence: Omit<Evidence, "id"> }>[] = [];
  if (lookback.lastSeconds > window.lastSeconds) {
    const accArgs = { model, window: lookback };
    calls.push(observe("monitor", "get_model_accuracy", accArgs, () => tools.accuracy(accArgs), evidenceSummary.accuracy));
  }
  const dep = facts.recentDeployment;
  if (dep?.previousVersion) {
    const own = { model, version: dep.version, window };
    const ref = { ...own, referenceVersion: dep.previousVersion };
    calls.push(observe("monitor", "detect_data_drift", ref, () => tools.drift(ref), evidenceSummary.drift));
    if (facts.drift?.version !== dep.version) calls.push(observe("monitor", "detect_data_drift", own, () => tools.drift(own), evidenceSummary.drift));
  }
  return (await Promise.all(calls)).map((c) => c.evidence);
}
