import { mcnemar } from "../stats/mcnemar.ts";
import { normalQuantile } from "../stats/special.ts";
import type { GateOf } from "./plan.ts";
import { DASH, pct } from "../format.ts";

/** pass: move on; wait: not enough evidence yet; fail: the plan stops and the candidate leaves traffic. */
export interface GateResult {
  verdict: "pass" | "wait" | "fail";
  figures: Record<string, number | string | null>;
  reason: string;
}

export function collectGate(gate: GateOf<"collect">, labelledRows: number): GateResult {
  const figures = { labelled_rows: labelledRows, needed: gate.minLabelledRows };
  return labelledRows >= gate.minLabelledRows
    ? { verdict: "pass", figures, reason: `${labelledRows} labelled rows since the change point (needed ${gate.minLabelledRows})` }
    : { verdict: "wait", figures, reason: `${labelledRows} of ${gate.minLabelledRows} labels` };
}

export interface ShadowPairs {
  labelledPairs: number;
  /** Right answers on those pairs. */
  primaryCorrect: number;
  candidateCorrect: number;
  onlyCandidate: number;
  onlyPrimary: number;
}

/**
 * Looks happen at minLabelledPairs × k; `looksTaken` are those already spent. The candidate passes at
 * a look when it is better by ≥ minGainPts with McNemar p < alpha/looks, and fails when it is
 * significantly worse at any look or has not passed by the last one.
 */
export function shadowGate(gate: GateOf<"shadow">, pairs: ShadowPairs, looksTaken: number): GateResult & { look: boolean } {
  const gainPts = pairs.labelledPairs > 0 ? ((pairs.candidateCorrect - pairs.primaryCorrect) / pairs.labelledPairs) * 100 : 0;
  const test = mcnemar(pairs.onlyCandidate, pairs.onlyPrimary);
  const level = gate.alpha / gate.looks;
  const nextLookAt = gate.minLabelledPairs * (looksTaken + 1);
  const figures = {
    labelled_pairs: pairs.labelledPairs,
    next_look_at: looksTaken < gate.looks ? nextLookAt : null,
    looks_taken: looksTaken,
    candidate_accuracy: pairs.labelledPairs > 0 ? pairs.candidateCorrect / pairs.labelledPairs : null,
    primary_accuracy: pairs.labelledPairs > 0 ? pairs.primaryCorrect / pairs.labelledPairs : null,
    gain_pts: Number(gainPts.toFixed(2)),
    only_candidate_right: pairs.onlyCandidate,
    only_primary_right: pairs.onlyPrimary,
    p_value: pairs.labelledPairs > 0 ? Number(test.pValue.toPrecision(3)) : null,
    level: Number(level.toPrecision(3)),
  };
  if (looksTaken >= gate.looks || pairs.labelledPairs < nextLookAt) {
    return { verdict: "wait", figures, reason: `${pairs.labelledPairs} of ${nextLookAt} labelled pairs for look ${looksTaken + 1} of ${gate.looks}`, look: false };
  }
  const summary = `candidate ${pct(figures.candidate_accuracy, 1, DASH)} vs primary ${pct(figures.primary_accuracy, 1, DASH)} on ${pairs.labelledPairs} paired requests (${gainPts >= 0 ? "+" : ""}${gainPts.toFixed(1)} pts, McNemar p=${test.pValue.toPrecision(2)}, level ${level.toPrecision(2)})`;
  const significant = test.pValue < level;
  if (significant && gainPts >= gate.minGainPts) return { verdict: "pass", figures, reason: summary, look: true };
  if (significant && gainPts < 0) return { verdict: "fail", figures, reason: `${summary}: the candidate is worse`, look: true };
  if (looksTaken + 1 >= gate.looks) return { verdict: "fail", figures, reason: `${summary}: not ${gate.minGainPts} points better at the last look`, look: true };
  return { verdict: "wait", figures, reason: `${summary}: not decided at look ${looksTaken + 1} of ${gate.looks}`, look: true };
}

export interface ServedFigures {
  rows: number;
  errorRate: number | null;
  p99Ms: number | null;
  labelled: number;
  accuracy: number | null;
}

/** Accuracy is compared only when both sides have this many labelled rows; shadow already proved it on pairs. */
const CANARY_MIN_LABELLED = 50;

export function canaryGate(gate: GateOf<"canary">, canary: ServedFigures, primary: ServedFigures): GateResult {
  const figures = {
    canary_rows: canary.rows,
    needed: gate.minRows,
    canary_error_rate: canary.errorRate,
    primary_error_rate: primary.errorRate,
    canary_p99_ms: canary.p99Ms,
    primary_p99_ms: primary.p99Ms,
    canary_accuracy: canary.accuracy,
    primary_accuracy: primary.accuracy,
  };
  if (canary.rows < gate.minRows) return { verdict: "wait", figures, reason: `${canary.rows} of ${gate.minRows} canary rows` };
  const problems: string[] = [];
  const errors = canary.errorRate ?? 0;
  if (errors > (primary.errorRate ?? 0) + gate.maxErrorRateIncrease) problems.push(`error rate ${pct(errors, 1, DASH)} vs ${pct(primary.errorRate ?? 0, 1, DASH)} for the primary`);
  if (canary.p99Ms !== null && primary.p99Ms !== null) {
    const bound = Math.max(primary.p99Ms * gate.maxP99Ratio, primary.p99Ms + gate.p99SlackMs);
    if (canary.p99Ms > bound) problems.push(`p99 ${canary.p99Ms.toFixed(1)} ms over ${bound.toFixed(1)} ms`);
  }
  if (canary.accuracy !== null && primary.accuracy !== null && canary.labelled >= CANARY_MIN_LABELLED && primary.labelled >= CANARY_MIN_LABELLED) {
    if ((primary.accuracy - canary.accuracy) * 100 > gate.maxAccuracyDropPts) problems.push(`accuracy ${pct(canary.accuracy, 1, DASH)} vs ${pct(primary.accuracy, 1, DASH)} for the primary`);
  }
  const summary = `${canary.rows} canary rows: error rate ${pct(errors, 1, DASH)}, p99 ${canary.p99Ms?.toFixed(1) ?? DASH} ms (primary ${primary.p99Ms?.toFixed(1) ?? DASH} ms), accuracy ${pct(canary.accuracy, 1, DASH)} (primary ${pct(primary.accuracy, 1, DASH)})`;
  return problems.length > 0 ? { verdict: "fail", figures, reason: `${summary}: ${problems.join("; ")}` } : { verdict: "pass", figures, reason: summary };
}

/**
 * The promoted version against its own shadow accuracy, and against the base version, which shadows
 * it meanwhile: below target but still better than the base on the same requests means the
 * population moved on since the shadow stage (a ramp), and rolling back would make things worse —
 * it passes, saying so, and the next incident retrains again. Significantly worse than the base fails.
 */
export function verifyGate(gate: GateOf<"verify">, after: ServedFigures, shadowAccuracy: number | null, base: ShadowPairs | null = null): GateResult {
  const target = shadowAccuracy === null ? null : shadowAccuracy - gate.maxAccuracyDropPts / 100;
  const vsBase = base && base.labelledPairs > 0 ? { gainPts: ((base.candidateCorrect - base.primaryCorrect) / base.labelledPairs) * 100, pValue: mcnemar(base.onlyCandidate, base.onlyPrimary).pValue } : null;
  const figures = {
    labelled: after.labelled,
    needed: gate.minLabelledRows,
    accuracy: after.accuracy,
    target,
    error_rate: after.errorRate,
    base_pairs: base?.labelledPairs ?? null,
    gain_over_base_pts: vsBase ? Number(vsBase.gainPts.toFixed(2)) : null,
    p_value_vs_base: vsBase ? Number(vsBase.pValue.toPrecision(3)) : null,
  };
  if (after.labelled < gate.minLabelledRows) return { verdict: "wait", figures, reason: `${after.labelled} of ${gate.minLabelledRows} labelled rows since the promotion` };
  const summary = `accuracy ${pct(after.accuracy, 1, DASH)} on ${after.labelled} labelled rows (target ${pct(target, 1, DASH)}), error rate ${pct(after.errorRate, 1, DASH)}${vsBase ? `, ${vsBase.gainPts >= 0 ? "+" : ""}${vsBase.gainPts.toFixed(1)} pts over the base version on ${base!.labelledPairs} paired requests` : ""}`;
  if ((after.errorRate ?? 0) > gate.maxErrorRate) return { verdict: "fail", figures, reason: `${summary}: error rate over ${pct(gate.maxErrorRate, 1, DASH)}` };
  if (vsBase && vsBase.gainPts < 0 && vsBase.pValue < 0.05) return { verdict: "fail", figures, reason: `${summary}: worse than the base version` };
  if (target === null || after.accuracy === null || after.accuracy >= target) return { verdict: "pass", figures, reason: summary };
  if (vsBase && vsBase.gainPts > 0) return { verdict: "pass", figures, reason: `${summary}: below target, but better than the base version on the same requests — the population moved on since the shadow stage; kept, and it needs another retrain` };
  return { verdict: "fail", figures, reason: `${summary}: accuracy below ${pct(target, 1, DASH)}` };
}

/**
 * Labelled rows to collect before training: enough for a paired comparison to see half the loss
 * (two-sided 0.05, power 0.8, the variance of a proportion at the current accuracy), at least
 * `floor` and at most `ceiling`.
 */
export function labelsNeeded(referenceAccuracy: number | null, currentAccuracy: number | null, floor = 1000, ceiling = 5000): number {
  if (referenceAccuracy === null || currentAccuracy === null || referenceAccuracy <= currentAccuracy) return floor;
  const effect = (referenceAccuracy - currentAccuracy) / 2;
  const p = Math.min(0.99, Math.max(0.01, currentAccuracy));
  const z = normalQuantile(0.975) + normalQuantile(0.8);
  const n = Math.ceil((z * z * 2 * p * (1 - p)) / (effect * effect));
  return Math.min(ceiling, Math.max(floor, n));
}
