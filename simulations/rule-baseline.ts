import type { AccuracyReport, DriftReport, HealthReport } from "../analysis/index.ts";

/** What the baseline sees at one check: the same reports the agent can ask the MCP tools for. */
export interface Snapshot {
  accuracy: AccuracyReport;
  drift: DriftReport;
  health: HealthReport;
}

export interface RuleDiagnosis {
  rootCause: string;
  category: string;
  features: string[];
  remedy: string;
}

export const RULES = {
  maxErrorRate: 0.05,
  /** p99 over this many times the baseline phase's p99 (and over minP99Ms) is a regression. */
  p99Factor: 2,
  minP99Ms: 20,
  accuracyDrop: 0.05,
  minLabelled: 200,
} as const;

/**
 * The rule-only baseline the agent is measured against: fixed thresholds on error rate, latency,
 * the drift verdict and realized accuracy, checked in that order, and a fixed remedy per rule.
 * It never looks at deployments, categories or missing values, and never reasons across signals.
 */
export function ruleVerdict(s: Snapshot, reference: { accuracy: number; p99Ms: number }): RuleDiagnosis | null {
  const served = s.health.served;
  if (served.rows > 0 && served.errorRate > RULES.maxErrorRate) return { rootCause: "error_spike", category: "infra", features: [], remedy: "escalate" };
  const p99 = served.latencyMs?.p99;
  if (p99 !== undefined && p99 > Math.max(RULES.minP99Ms, RULES.p99Factor * reference.p99Ms)) {
    return { rootCause: "latency_regression", category: "infra", features: [], remedy: "escalate" };
  }
  const drifted = s.drift.features.filter((f) => f.drifted || f.psiLevel === "major");
  if (s.drift.dataset?.drifted || drifted.some((f) => f.psiLevel === "major")) {
    return { rootCause: "covariate_shift", category: "data", features: drifted.map((f) => f.feature), remedy: "retrain" };
  }
  const acc = s.accuracy;
  if (acc.accuracy !== null && acc.labelled >= RULES.minLabelled && acc.accuracy < reference.accuracy - RULES.accuracyDrop) {
    return { rootCause: "concept_drift", category: "data", features: [], remedy: "retrain" };
  }
  return null;
}
