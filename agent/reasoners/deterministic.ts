import type { AgentConfig } from "../configuration.ts";
import { categoryOf, type Diagnosis, type DiagnosisCore, type ReasonInput, type Reasoner } from "../diagnosis.ts";
import { accuracyBreach, accuracyOf, comparable, extractFacts, latencyBreach, pct, points, sloViolations, type Facts, type VersionFigures } from "../facts.ts";
import type { Evidence } from "../state.ts";

// Rules over the evidence, one small analyzer per root cause (as k8sgpt's analyzers are). Each
// returns a diagnosis or null; the first that fires, in the order of `analyzers`, names the cause.
// The order encodes precedence: infrastructure faults first (they distort every other figure),
// then a bad deployment (the cheapest fix), then data-quality faults (they also look like drift),
// then drift, then concept drift (what is left when labels say worse and inputs did not move).

type Analyzer = (facts: Facts, config: AgentConfig, cite: Cite) => DiagnosisCore | null;
/** "[E3]": the id of the newest evidence a tool produced, for explanations that cite their source. */
type Cite = (tool: string) => string;

/** Errors that mean the caller sent bad input: rolling the model back does not fix those. */
const INPUT_ERRORS = new Set(["missing_feature", "unknown_feature", "wrong_type", "not_finite", "not_an_object", "invalid_request", "malformed_request", "body_too_large"]);

const errorSpike: Analyzer = (facts, config, cite) =>
  infraFault(facts, config, cite, {
    rootCause: "error_spike",
    breach: (f) => (f.errorRate !== null && f.errorRate > config.slo.maxErrorRate ? f.errorRate : null),
    describe: (f) => {
      const top = f.errorsByReason[0];
      return `error rate ${pct(f.errorRate ?? 0)} (SLO ${pct(config.slo.maxErrorRate)})${top ? `, mostly "${top.reason}" (${top.count})` : ""} ${cite("get_model_health")}`;
    },
  });

const latencyRegression: Analyzer = (facts, config, cite) =>
  infraFault(facts, config, cite, {
    rootCause: "latency_regression",
    breach: (f) => (latencyBreach(f, config) ? f.p95Ms : null),
    describe: (f) => `${latencyBreach(f, config)} ${cite("get_model_health")}`,
  });

/** Error spikes and latency regressions share one shape: blame a coinciding deployment, else escalate. */
function infraFault(
  facts: Facts,
  config: AgentConfig,
  cite: Cite,
  o: { rootCause: "error_spike" | "latency_regression"; breach: (f: VersionFigures) => number | null; describe: (f: VersionFigures) => string },
): DiagnosisCore | null {
  const worst = facts.serving.filter((f) => o.breach(f) !== null).sort((a, b) => o.breach(b)! - o.breach(a)!)[0];
  if (!worst) return null;
  const who = worst.version ? `v${worst.version}` : "the model";
  const dep = facts.recentDeployment;
  const base = { rootCause: o.rootCause, category: categoryOf[o.rootCause], features: [] as string[] };
  const inputFault = o.rootCause === "error_spike" && worst.errorsByReason[0] && INPUT_ERRORS.has(worst.errorsByReason[0].reason);
  if (inputFault) {
    return { ...base, confidence: 0.7, remedy: "escalate", explanation: `${who}: ${o.describe(worst)}. These are rejected inputs, which a rollback does not fix: the caller or the upstream pipeline must.` };
  }
  const coincides = dep !== null && dep.previousVersion !== null && (worst.version === dep.version || worst.role === "model");
  if (!coincides) {
    return { ...base, confidence: 0.6, remedy: "escalate", explanation: `${who}: ${o.describe(worst)}, with no recent deployment to undo ${cite("get_deployment_history")}: needs a person.` };
  }
  const prev = facts.versions.get(dep.previousVersion!);
  const prevOk = prev !== undefined && o.breach(prev) === null && (prev.errorRate !== null || prev.p99Ms !== null);
  return {
    ...base,
    confidence: prevOk ? 0.85 : 0.7,
    remedy: dep.role === "canary" ? "shift_traffic" : "rollback",
    explanation: `${who}: ${o.describe(worst)}; v${dep.version} became ${dep.role} ${age(dep.ageSeconds)} ago replacing v${dep.previousVersion} ${cite("get_deployment_history")}${prevOk ? `, which was within the SLO` : ""}.`,
  };
}

const badDeploy: Analyzer = (facts, config, cite) => {
  const dep = facts.recentDeployment;
  if (!dep?.previousVersion) return null;
  const now = facts.versions.get(dep.version);
  const prev = facts.versions.get(dep.previousVersion);
  if (!now || !prev) return null;
  const c = comparable(now, prev, config.thresholds.minLabelled);
  if (!c || c.b - c.a <= config.slo.maxAccuracyDrop) return null;
  const drift = inputDrift(facts, config);
  if (drift.significant) return null;
  const separated = c.source === "realized" && now.interval && prev.interval && now.interval.high < prev.interval.low;
  const n = (f: VersionFigures) => (c.source === "realized" ? ` (n=${f.labelled})` : "");
  return {
    rootCause: "bad_deploy",
    category: "model",
    features: [],
    confidence: separated ? 0.9 : c.source === "realized" ? 0.8 : 0.65,
    remedy: dep.role === "canary" ? "shift_traffic" : "rollback",
    explanation:
      `v${dep.version} became ${dep.role} ${age(dep.ageSeconds)} ago replacing v${dep.previousVersion} ${cite("get_deployment_history")}; its ${c.source} accuracy is ` +
      `${pct(c.a)}${n(now)} against ${pct(c.b)}${n(prev)} for v${dep.previousVersion}, ${points(c.b - c.a)} lower ${cite("get_model_accuracy")}, ` +
      `with no significant input drift (${drift.summary}) ${cite("detect_data_drift")}.`,
  };
};

const missingValues: Analyzer = (facts, config, cite) => {
  const risen = facts.missingRise.filter((m) => m.rise > config.thresholds.missingRise);
  if (risen.length === 0) return null;
  return {
    rootCause: "missing_values",
    category: "data",
    features: risen.map((m) => m.feature),
    confidence: 0.8,
    remedy: "escalate",
    explanation: `${risen.map((m) => `${m.feature} is missing in ${pct(m.current)} of rows against ${pct(m.reference)} in the reference`).join("; ")} ${cite("detect_data_drift")}. The upstream pipeline that fills these fields must be fixed; neither a rollback nor a retrain does that.`,
  };
};

const newCategory: Analyzer = (facts, config, cite) => {
  const unseen = facts.unseen.filter((u) => u.share !== null && u.share > config.thresholds.unseenShare);
  if (unseen.length === 0) return null;
  return {
    rootCause: "new_category",
    category: "data",
    features: unseen.map((u) => u.feature),
    confidence: 0.8,
    remedy: "retrain",
    explanation: `${unseen.map((u) => `${pct(u.share!)} of ${u.feature} values were never seen in training (${u.categories.slice(0, 3).join(", ")})`).join("; ")} ${cite("detect_data_drift")}; they are served through the "unknown" slot, so the model needs retraining on data that includes them.`,
  };
};

const covariateShift: Analyzer = (facts, config, cite) => {
  const drift = inputDrift(facts, config);
  if (!drift.significant) return null;
  const hit = facts.serving.map((f) => ({ f, breach: accuracyBreach(f, config) })).find((x) => x.breach);
  if (!hit) return null;
  const top = facts.drift!.shifted.slice(0, 5);
  const realized = accuracyOf(hit.f, config.thresholds.minLabelled)?.source === "realized";
  return {
    rootCause: "covariate_shift",
    category: "data",
    features: top.map((f) => f.feature),
    confidence: realized ? 0.8 : 0.7,
    remedy: "retrain",
    explanation: `inputs drifted: ${top.map((f) => `${f.feature} (PSI ${fmt(f.psi)}${f.drifted ? `, ${f.method} drifted` : ""})`).join(", ")} ${cite("detect_data_drift")}; ${hit.f.version ? `v${hit.f.version}` : "the model"}: ${hit.breach} ${cite("get_model_accuracy")}.`,
  };
};

const conceptDrift: Analyzer = (facts, config, cite) => {
  const hit = facts.serving.find((f) => accuracyOf(f, config.thresholds.minLabelled)?.source === "realized" && accuracyBreach(f, config));
  if (!hit || inputDrift(facts, config).significant) return null;
  return {
    rootCause: "concept_drift",
    category: "data",
    features: [],
    confidence: 0.7,
    remedy: "retrain",
    explanation: `${hit.version ? `v${hit.version}` : "the model"}: ${accuracyBreach(hit, config)} ${cite("get_model_accuracy")} while its inputs did not drift (${inputDrift(facts, config).summary}) ${cite("detect_data_drift")} and nothing was deployed: the relation between inputs and labels changed.`,
  };
};

const analyzers: Analyzer[] = [errorSpike, latencyRegression, badDeploy, missingValues, newCategory, covariateShift, conceptDrift];

function nothingFound(facts: Facts, config: AgentConfig): DiagnosisCore {
  const violations = sloViolations(facts, config).filter((v) => !v.startsWith("dataset drift"));
  if (violations.length > 0) {
    return { rootCause: "none", category: "none", features: [], confidence: 0.3, remedy: "escalate", explanation: `SLO breached (${violations.join("; ")}) but no rule explains it: a person should look.` };
  }
  const drifted = facts.drift?.shifted ?? [];
  return {
    rootCause: "none",
    category: "none",
    features: [],
    confidence: 0.9,
    remedy: "none",
    explanation: drifted.length > 0 ? `input drift (${drifted.map((f) => f.feature).join(", ")}) with no measured effect on accuracy, errors or latency: nothing to fix yet.` : "no SLO breach and no drift.",
  };
}

/** Significant = the data set's verdict is drifted, or a feature moved past the PSI bound. */
function inputDrift(facts: Facts, config: AgentConfig): { significant: boolean; summary: string } {
  if (!facts.drift) return { significant: false, summary: "no drift result" };
  const maxPsi = Math.max(0, ...facts.drift.ranked.map((f) => f.psi ?? 0));
  const significant = facts.drift.datasetDrifted || maxPsi >= config.thresholds.psiMajor;
  return { significant, summary: `dataset ${facts.drift.datasetDrifted ? "drifted" : "not drifted"}, max PSI ${maxPsi.toFixed(3)}` };
}

export function diagnoseDeterministic(input: ReasonInput): Diagnosis {
  const facts = extractFacts(input.evidence, input.config, input.nowMs);
  const cite = citer(input.evidence);
  let found: DiagnosisCore = nothingFound(facts, input.config);
  for (const analyze of analyzers) {
    const d = analyze(facts, input.config, cite);
    if (d) {
      found = d;
      break;
    }
  }
  const check = checkFacts(found, facts, input.config);
  if (!check.ok) found = { ...found, remedy: "escalate", explanation: `${found.explanation} The remedy '${found.remedy}' is refused (${check.reasons.join("; ")}), so a person decides.` };
  return { ...found, reasoner: "deterministic" };
}

export const deterministicReasoner: Reasoner = {
  name: "deterministic",
  diagnose: async (input) => diagnoseDeterministic(input),
};

export interface CheckResult {
  ok: boolean;
  reasons: string[];
}

/** Refuses a diagnosis whose cause or remedy the evidence contradicts, whoever produced it. */
export function checkDiagnosis(d: DiagnosisCore, evidence: Evidence[], config: AgentConfig, nowMs: number): CheckResult {
  return checkFacts(d, extractFacts(evidence, config, nowMs), config);
}

function checkFacts(d: DiagnosisCore, facts: Facts, config: AgentConfig): CheckResult {
  const reasons: string[] = [];
  const dep = facts.recentDeployment;
  if (categoryOf[d.rootCause] !== d.category) reasons.push(`category '${d.category}' does not belong to root cause '${d.rootCause}'`);
  switch (d.remedy) {
    case "rollback":
      if (!dep) reasons.push("rollback: nothing was deployed recently");
      else if (!dep.previousVersion) reasons.push("rollback: there is no previous version to return to");
      break;
    case "shift_traffic":
      if (!facts.traffic?.canary) reasons.push("shift_traffic: no canary is taking traffic");
      break;
    case "retrain":
      if (facts.labelledAny === 0) reasons.push("retrain: there are no labels to train on");
      break;
  }
  if (d.rootCause === "none" && ["rollback", "retrain", "shift_traffic"].includes(d.remedy)) reasons.push(`${d.remedy}: no root cause was named to justify it`);
  const drift = inputDrift(facts, config);
  switch (d.rootCause) {
    case "bad_deploy":
      if (!dep) reasons.push("bad_deploy: no deployment in the recent history");
      break;
    case "concept_drift":
      if (!facts.serving.some((f) => f.realized !== null && f.labelled >= config.thresholds.minLabelled)) reasons.push("concept_drift: realized accuracy is not measured (too few labels)");
      break;
    case "covariate_shift":
      if (!drift.significant) reasons.push(`covariate_shift: no significant input drift (${drift.summary})`);
      break;
    case "new_category":
      if (facts.unseen.length === 0) reasons.push("new_category: no unseen categories in the drift result");
      break;
    case "missing_values":
      if (!facts.missingRise.some((m) => m.rise > config.thresholds.missingRise)) reasons.push("missing_values: no feature's missing rate rose past the threshold");
      break;
    case "error_spike":
      if (!facts.serving.some((f) => f.errorRate !== null && f.errorRate > config.slo.maxErrorRate)) reasons.push("error_spike: the error rate is within the SLO");
      break;
    case "latency_regression":
      if (!facts.serving.some((f) => latencyBreach(f, config))) reasons.push("latency_regression: no more than 5% of requests are slower than the p99 SLO");
      break;
  }
  const unknown = d.features.filter((f) => !facts.knownFeatures.has(f));
  if (unknown.length > 0) reasons.push(`features not in the evidence: ${unknown.join(", ")}`);
  return { ok: reasons.length === 0, reasons };
}

function citer(evidence: Evidence[]): Cite {
  return (tool) => {
    const e = [...evidence].reverse().find((x) => x.tool === tool);
    return e ? `[${e.id}]` : "";
  };
}

function age(seconds: number): string {
  return seconds < 120 ? `${Math.round(seconds)} s` : seconds < 7200 ? `${Math.round(seconds / 60)} min` : `${(seconds / 3600).toFixed(1)} h`;
}

function fmt(x: number | null): string {
  return x === null ? "n/a" : x.toFixed(2);
}
