import type { AgentConfig } from "../configuration.ts";
import { categoryOf, type Diagnosis, type DiagnosisCore } from "../diagnosis.ts";
import type { ReasonInput, Reasoner } from "./reasoner.ts";
import {
  accuracyProblem,
  accuracyOf,
  errorsAgainstBaseline,
  extractFacts,
  latencyBreach,
  latencyOnset,
  latencyShift,
  onsetVsDeploy,
  points,
  sloViolations,
  type DeployComparison,
  type Facts,
  type VersionFigures,
} from "../facts.ts";
import type { Evidence } from "../state.ts";
import { pct } from "../../format.ts";

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

/** One reading of an infra fault on a version: how bad (to rank versions), in words, and whether it began after the version's own deployment. */
interface InfraReading {
  value: number;
  text: string;
  /** Measured against a reference period of the version that lies after its deployment and was fine: it began later, not at the deploy. */
  beganAfterDeploy: boolean;
}

/** A relative reading began after the deploy when the version's own reference period, which was fine, started at or after it. */
function afterOwnDeploy(f: VersionFigures, facts: Facts): boolean {
  const dep = facts.recentDeployment;
  const from = f.history?.reference.fromUs;
  return dep !== null && from !== undefined && f.version === dep.version && from >= dep.atUs;
}

const errorReading = (facts: Facts, config: AgentConfig, cite: Cite) => (f: VersionFigures): InfraReading | null => {
  const top = f.errorsByReason[0];
  const reasons = `${top ? `, mostly "${top.reason}" (${top.rows})` : ""} ${cite("get_model_health")}`;
  if (f.errorRate !== null && f.errorRate > config.slo.maxErrorRate) {
    return { value: f.errorRate, text: `error rate ${pct(f.errorRate)} (SLO ${pct(config.slo.maxErrorRate)})${reasons}`, beganAfterDeploy: false };
  }
  const relative = errorsAgainstBaseline(f.history, config.thresholds.relative);
  return relative ? { value: f.errorRate ?? 0, text: `${relative}, under the ${pct(config.slo.maxErrorRate)} SLO${reasons}`, beganAfterDeploy: afterOwnDeploy(f, facts) } : null;
};

const latencyReading = (facts: Facts, config: AgentConfig, cite: Cite) => (f: VersionFigures): InfraReading | null => {
  const absolute = latencyBreach(f, config);
  if (absolute) return { value: f.p95Ms ?? 0, text: `${absolute}${since(facts, config.slo.maxP99Ms)} ${cite("get_model_health")}`, beganAfterDeploy: false };
  const shift = latencyShift(f, facts, config);
  if (!shift) return null;
  const against = shift.against === "own" ? "its own reference period" : `v${shift.referenceVersion}'s reference period, the version it replaced`;
  return {
    value: f.p95Ms ?? 0,
    text: `latency regression against ${against}, under the ${config.slo.maxP99Ms} ms p99 SLO: ${shift.text} ${cite("get_model_health")}`,
    beganAfterDeploy: shift.against === "own" && afterOwnDeploy(f, facts),
  };
};

/** "; p95 over X ms since 12:34": when the slowdown began, from the served trend. */
function since(facts: Facts, thresholdMs: number): string {
  const at = latencyOnset(facts.latencyTrend, thresholdMs);
  return at === null ? "" : `; p95 over ${thresholdMs.toFixed(0)} ms in every bucket since ${new Date(at.atUs / 1000).toISOString()}`;
}

const errorSpike: Analyzer = (facts, config, cite) => infraFault(facts, cite, "error_spike", errorReading(facts, config, cite));

const latencyRegression: Analyzer = (facts, config, cite) => infraFault(facts, cite, "latency_regression", latencyReading(facts, config, cite));

/** Error spikes and latency regressions share one shape: blame a deployment the fault began at, else escalate. */
function infraFault(facts: Facts, cite: Cite, rootCause: "error_spike" | "latency_regression", read: (f: VersionFigures) => InfraReading | null): DiagnosisCore | null {
  const readings = facts.serving.flatMap((f) => {
    const r = read(f);
    return r ? [{ f, r }] : [];
  });
  const top = readings.sort((a, b) => b.r.value - a.r.value)[0];
  if (!top) return null;
  const { f: worst, r } = top;
  const who = worst.version ? `v${worst.version}` : "the model";
  const dep = facts.recentDeployment;
  const base = { rootCause, category: categoryOf[rootCause], features: [] as string[] };
  const inputFault = rootCause === "error_spike" && worst.errorsByReason[0] && INPUT_ERRORS.has(worst.errorsByReason[0].reason);
  if (inputFault) {
    return { ...base, confidence: 0.7, remedy: "escalate", explanation: `${who}: ${r.text}. These are rejected inputs, which a rollback does not fix: the caller or the upstream pipeline must.` };
  }
  const coincides = dep !== null && dep.previousVersion !== null && (worst.version === dep.version || worst.role === "model");
  if (!coincides) {
    return { ...base, confidence: 0.6, remedy: "escalate", explanation: `${who}: ${r.text}, with no recent deployment to undo ${cite("get_deployment_history")}: needs a person.` };
  }
  if (r.beganAfterDeploy) {
    return {
      ...base,
      confidence: 0.6,
      remedy: "escalate",
      explanation: `${who}: ${r.text}. ${who} became ${dep.role} ${age(dep.ageSeconds)} ago ${cite("get_deployment_history")}, but its own first traffic after that was fine: the fault began later, not at the deployment, so a rollback is not known to fix it; needs a person.`,
    };
  }
  const prev = facts.versions.get(dep.previousVersion!);
  const prevOk = prev !== undefined && read(prev) === null && (prev.errorRate !== null || prev.p99Ms !== null);
  return {
    ...base,
    confidence: prevOk ? 0.85 : 0.7,
    remedy: dep.role === "canary" ? "shift_traffic" : "rollback",
    explanation: `${who}: ${r.text}; v${dep.version} became ${dep.role} ${age(dep.ageSeconds)} ago replacing v${dep.previousVersion} ${cite("get_deployment_history")}${prevOk ? `, which was within the SLO` : ""}.`,
  };
}

/**
 * A degradation that began at a deployment is the deployment's: the new version is clearly less
 * accurate than the one it replaced (or, trained on inputs unlike its traffic, less accurate at all),
 * accuracy did not start falling before the deploy, and the traffic did not move against the
 * previous version's training baseline. Drift against the new version's own baseline alone is
 * the new training data's doing, not the traffic's, and is named as such.
 */
const badDeploy: Analyzer = (facts, config, cite) => {
  const cmp = facts.deploy;
  if (!cmp) return mismatchOnly(facts, config, cite);
  const mismatch = facts.mismatch;
  const harmed = cmp.clear || (mismatch.length > 0 && cmp.drop >= config.thresholds.deploy.mismatchMinDrop);
  if (!harmed) return mismatchOnly(facts, config, cite);
  const drift = inputDrift(facts, config);
  if (drift.significant) return null;
  const onset = facts.accuracyOnset;
  if (onset && onsetVsDeploy(onset, cmp.dep.atUs) === "before") return null;
  const separated = cmp.source === "realized" && cmp.now.interval && cmp.prev.interval && cmp.now.interval.upper < cmp.prev.interval.lower;
  const confidence = separated ? 0.9 : cmp.clear ? (cmp.source === "realized" ? 0.8 : 0.65) : 0.7;
  return {
    rootCause: "bad_deploy",
    category: "model",
    features: mismatch.map((m) => m.feature),
    confidence,
    remedy: cmp.dep.role === "canary" ? "shift_traffic" : "rollback",
    explanation: [deployedText(cmp, cite), onsetText(facts, cmp, cite), inputsText(facts, drift.summary, cite)].filter(Boolean).join(" "),
  };
};

/** Trained on inputs unlike its traffic, with no accuracy loss measured yet: suspicious, not proven, so a person decides. */
function mismatchOnly(facts: Facts, config: AgentConfig, cite: Cite): DiagnosisCore | null {
  const dep = facts.recentDeployment;
  if (!dep || facts.mismatch.length === 0 || inputDrift(facts, config).significant) return null;
  return {
    rootCause: "bad_deploy",
    category: "model",
    features: facts.mismatch.map((m) => m.feature),
    confidence: 0.5,
    remedy: "escalate",
    explanation: `v${dep.version} became ${dep.role} ${age(dep.ageSeconds)} ago ${cite("get_deployment_history")}. ${mismatchText(facts, cite)} No accuracy loss against v${dep.previousVersion} is measured yet ${cite("get_model_accuracy")}, so a person decides.`,
  };
}

function deployedText(cmp: DeployComparison, cite: Cite): string {
  const n = (f: VersionFigures) => (cmp.source === "realized" ? ` (n=${f.labelled})` : "");
  const test = cmp.pValue !== null ? `, one-sided p=${cmp.pValue.toPrecision(2)}` : "";
  return (
    `v${cmp.dep.version} became ${cmp.dep.role} ${age(cmp.dep.ageSeconds)} ago replacing v${cmp.dep.previousVersion} ${cite("get_deployment_history")}; its ${cmp.source} accuracy is ` +
    `${pct(cmp.a)}${n(cmp.now)} against ${pct(cmp.b)}${n(cmp.prev)} for v${cmp.dep.previousVersion}, ${points(cmp.drop)} lower${test} ${cite("get_model_accuracy")}.`
  );
}

/** When accuracy fell, lined up with the deployment. */
function onsetText(facts: Facts, cmp: DeployComparison, cite: Cite): string {
  const o = facts.accuracyOnset;
  if (!o) return "";
  const where = onsetVsDeploy(o, cmp.dep.atUs) === "at_deploy" ? `within one ${o.bucketSeconds} s bucket of the deployment` : "after the deployment";
  return `The ${o.source} accuracy trend fell from ${pct(o.before)} to ${pct(o.after)} from ${new Date(o.atUs / 1000).toISOString()}, ${where}${o.pValue !== null ? ` (p=${o.pValue.toPrecision(2)})` : ""} ${cite("get_model_accuracy")}.`;
}

function inputsText(facts: Facts, summary: string, cite: Cite): string {
  if (facts.mismatch.length > 0) return `${mismatchText(facts, cite)} So this is the deployment's fault, not covariate shift.`;
  const ref = facts.referenceDrift;
  return ref
    ? `Its inputs did not drift against v${ref.referenceVersion}'s training baseline either (${summary}) ${citeRef(facts, cite)}.`
    : `There is no significant input drift (${summary}) ${cite("detect_data_drift")}.`;
}

function mismatchText(facts: Facts, cite: Cite): string {
  const dep = facts.recentDeployment!;
  const items = facts.mismatch.map((m) => {
    const missing = m.missing.training !== null && m.missing.traffic !== null && m.missing.training - m.missing.traffic > 0.5 ? `, missing in ${pct(m.missing.training)} of its training rows but ${pct(m.missing.traffic)} of requests` : "";
    return `${m.feature} (PSI ${fmt(m.psi)} against v${dep.version}'s own baseline${missing}; ${fmt(m.previousPsi)} against v${dep.previousVersion}'s)`;
  });
  return `Its inputs drift against its own training baseline but not against v${dep.previousVersion}'s: ${items.join(", ")} ${cite("detect_data_drift")}${citeRef(facts, cite)}; v${dep.version} was trained on data unlike the traffic it serves${facts.mismatch.some((m) => (m.missing.training ?? 0) > 0.99) ? ` and ignores ${facts.mismatch.filter((m) => (m.missing.training ?? 0) > 0.99).map((m) => m.feature).join(", ")}` : ""}.`;
}

/** The citation of the drift call against another version's baseline. */
function citeRef(facts: Facts, cite: Cite): string {
  return facts.referenceDrift ? cite("detect_data_drift#reference") : "";
}

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
  const hit = facts.serving.map((f) => ({ f, breach: accuracyProblem(f, facts, config) })).find((x) => x.breach);
  if (!hit) return null;
  // Features that moved against the new version's training data only are not the traffic's shift.
  const top = facts.drift!.shifted.filter((f) => !facts.mismatch.some((m) => m.feature === f.feature)).slice(0, 5);
  const realized = accuracyOf(hit.f, config)?.source === "realized";
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
  const hit = facts.serving.find((f) => accuracyOf(f, config)?.source === "realized" && accuracyProblem(f, facts, config));
  if (!hit || inputDrift(facts, config).significant) return null;
  return {
    rootCause: "concept_drift",
    category: "data",
    features: [],
    confidence: 0.7,
    remedy: "retrain",
    explanation: `${hit.version ? `v${hit.version}` : "the model"}: ${accuracyProblem(hit, facts, config)} ${cite("get_model_accuracy")} while its inputs did not drift (${inputDrift(facts, config).summary}) ${cite("detect_data_drift")} and nothing was deployed: the relation between inputs and labels changed${whereText(facts, cite)}.`,
  };
};

/** Where a concept drift is: the segments whose error rate rose most. */
function whereText(facts: Facts, cite: Cite): string {
  if (!facts.segments.length) return "";
  const rate = (x: number | null) => (x === null ? "n/a" : pct(x));
  const top = facts.segments.slice(0, 3).map((x) => `${x.label} (error rate ${rate(x.errorRate)} on ${x.labelled} rows, held out ${rate(x.referenceErrorRate)})`);
  return `; the errors rose most in ${top.join(", ")} ${cite("find_failing_segments")}`;
}

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

/**
 * Significant = the data set's verdict is drifted, or a feature moved past the PSI bound. After a
 * deployment, when the inputs were also compared with the previous version's training baseline,
 * the traffic moved only where both comparisons say so: drift against the new version's baseline
 * alone is its training data's difference (facts.mismatch), not the traffic's.
 */
function inputDrift(facts: Facts, config: AgentConfig): { significant: boolean; summary: string } {
  if (!facts.drift) return { significant: false, summary: "no drift result" };
  const ownMax = Math.max(0, ...facts.drift.ranked.map((f) => f.psi ?? 0));
  const own = `dataset ${facts.drift.datasetDrifted ? "drifted" : "not drifted"}, max PSI ${ownMax.toFixed(3)}`;
  const ref = facts.referenceDrift;
  if (!ref || ref.version !== facts.drift.version) return { significant: facts.drift.datasetDrifted || ownMax >= config.thresholds.psiMajor, summary: own };
  const both = facts.drift.ranked.map((f) => Math.min(f.psi ?? 0, ref.ranked.find((r) => r.feature === f.feature)?.psi ?? 0));
  const bothMax = Math.max(0, ...both);
  const refMax = Math.max(0, ...ref.ranked.map((f) => f.psi ?? 0));
  return {
    significant: (facts.drift.datasetDrifted && ref.datasetDrifted) || bothMax >= config.thresholds.psiMajor,
    summary: `against v${ref.referenceVersion}'s baseline: dataset ${ref.datasetDrifted ? "drifted" : "not drifted"}, max PSI ${refMax.toFixed(3)}; against its own: ${own}`,
  };
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
      if (!facts.serving.some((f) => (f.errorRate !== null && f.errorRate > config.slo.maxErrorRate) || errorsAgainstBaseline(f.history, config.thresholds.relative))) {
        reasons.push("error_spike: the error rate is within the SLO and the version's own usual rate");
      }
      break;
    case "latency_regression":
      if (!facts.serving.some((f) => latencyBreach(f, config) || latencyShift(f, facts, config))) {
        reasons.push("latency_regression: no more than 5% of requests are slower than the p99 SLO, and latency did not regress against the version's own reference period");
      }
      break;
  }
  const unknown = d.features.filter((f) => !facts.knownFeatures.has(f));
  if (unknown.length > 0) reasons.push(`features not in the evidence: ${unknown.join(", ")}`);
  return { ok: reasons.length === 0, reasons };
}

/** "tool#reference" cites the newest call of the tool against another version's baseline; plain "tool" any other. */
function citer(evidence: Evidence[]): Cite {
  return (key) => {
    const [tool, variant] = key.split("#");
    const e = [...evidence].reverse().find((x) => x.tool === tool && !isFailed(x) && (variant === "reference") === (typeof x.args.referenceVersion === "string"));
    return e ? `[${e.id}]` : "";
  };
}

function isFailed(e: Evidence): boolean {
  return typeof e.data === "object" && e.data !== null && "error" in e.data && Object.keys(e.data).length === 1;
}

function age(seconds: number): string {
  return seconds < 120 ? `${Math.round(seconds)} s` : seconds < 7200 ? `${Math.round(seconds / 60)} min` : `${(seconds / 3600).toFixed(1)} h`;
}

function fmt(x: number | null): string {
  return x === null ? "n/a" : x.toFixed(2);
}
