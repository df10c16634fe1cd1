import type { ScenarioResult, Verdict } from "./result.ts";
import { rootCauses, type Scenario, type Split } from "./scenario.ts";

export interface Scores {
  runs: number;
  faultRuns: number;
  controlRuns: number;
  detectionRate: number | null;
  falseAlarmRate: number | null;
  rootCauseExact: number | null;
  featureAcc1: number | null;
  featureAcc3: number | null;
  remedyCorrect: number | null;
  verifiedRecovery: number | null;
  medianDetectionDelay: number | null;
  medianTimeToRecovery: number | null;
  unapprovedActions: number;
}

/** Whether a verdict matches what the scenario expects, field by field. */
export function checkVerdict(v: Verdict, expect: Scenario["expect"]) {
  const isControl = expect.rootCause === "none";
  return {
    detected: isControl ? !v.detected : v.detected,
    rootCause: v.rootCause === expect.rootCause,
    category: v.category === expect.category,
    features: expect.features.length === 0 || v.features[0] === expect.features[0],
    remedy: v.remedy === expect.remedy,
    noFalseAlarm: !v.falseAlarm,
  };
}

/** Suite scores for the agent (with recovery) or the rule-only baseline (detection and diagnosis only). */
export function score(results: ScenarioResult[], pick: (r: ScenarioResult) => Verdict, withRecovery: boolean): Scores {
  const faults = results.filter((r) => r.expect.rootCause !== "none");
  const controls = results.filter((r) => r.expect.rootCause === "none");
  const verdicts = faults.map((r) => ({ r, v: pick(r) }));
  const withFeatures = verdicts.filter(({ r }) => r.expect.features.length > 0);
  const recoverable = faults.filter((r) => r.recovered !== null);
  return {
    runs: results.length,
    faultRuns: faults.length,
    controlRuns: controls.length,
    detectionRate: share(verdicts, ({ v }) => v.detected),
    falseAlarmRate: share(results, (r) => pick(r).falseAlarm),
    rootCauseExact: share(verdicts, ({ r, v }) => v.rootCause === r.expect.rootCause),
    featureAcc1: share(withFeatures, ({ r, v }) => v.features[0] === r.expect.features[0]),
    featureAcc3: share(withFeatures, ({ r, v }) => v.features.slice(0, 3).includes(r.expect.features[0]!)),
    remedyCorrect: share(verdicts, ({ r, v }) => v.remedy === r.expect.remedy),
    verifiedRecovery: withRecovery ? share(recoverable, (r) => r.recovered === true) : null,
    medianDetectionDelay: median(verdicts.map(({ v }) => v.detectionDelayRequests).filter((d): d is number => d !== null)),
    medianTimeToRecovery: withRecovery ? median(faults.map((r) => r.timeToRecoveryRequests).filter((d): d is number => d !== null)) : null,
    unapprovedActions: withRecovery ? results.reduce((a, r) => a + r.unapprovedActions, 0) : 0,
  };
}

/** A result's part of the suite: results without one (older reports, ad-hoc files) are "tune", as the schema defaults. */
export function splitOf(r: ScenarioResult): Split {
  return r.split ?? "tune";
}

export interface SplitScores {
  all: Scores;
  tune: Scores;
  holdout: Scores;
}

/** The same scores over all runs and over each part alone: thresholds are tuned on "tune", "holdout" says whether they generalise. */
export function scoreBySplit(results: ScenarioResult[], pick: (r: ScenarioResult) => Verdict, withRecovery: boolean): SplitScores {
  const part = (split: Split) => score(results.filter((r) => splitOf(r) === split), pick, withRecovery);
  return { all: score(results, pick, withRecovery), tune: part("tune"), holdout: part("holdout") };
}

/** Results of one part of the suite, or all of them. */
export function inSplit(results: ScenarioResult[], split: Split | "all"): ScenarioResult[] {
  return split === "all" ? results : results.filter((r) => splitOf(r) === split);
}

/**
 * Root causes, expected × diagnosed, over every run (controls included: their row is "none"). A run
 * where nothing was detected counts as diagnosed "none". Rows are the expected causes that occur;
 * columns those and every diagnosed cause, in the schema's order, unknown names last.
 */
export interface ConfusionMatrix {
  expected: string[];
  diagnosed: string[];
  /** counts[i][j]: runs expecting expected[i] that were diagnosed as diagnosed[j]. */
  counts: number[][];
}

export function confusionMatrix(results: ScenarioResult[], pick: (r: ScenarioResult) => Verdict): ConfusionMatrix {
  const said = (r: ScenarioResult) => {
    const v = pick(r);
    return v.detected ? v.rootCause : "none";
  };
  const expected = ordered(results.map((r) => r.expect.rootCause));
  const diagnosed = ordered([...expected, ...results.map(said)]);
  const counts = expected.map(() => diagnosed.map(() => 0));
  for (const r of results) counts[expected.indexOf(r.expect.rootCause)]![diagnosed.indexOf(said(r))]!++;
  return { expected, diagnosed, counts };
}

function ordered(causes: string[]): string[] {
  const known: readonly string[] = rootCauses;
  const distinct = [...new Set(causes)];
  return [...known.filter((c) => distinct.includes(c)), ...distinct.filter((c) => !known.includes(c)).sort()];
}

/** Detection per expected root cause (faults only): how many runs, how many detected, how many with the right cause, and the median delay of the detected ones. */
export interface CauseDetection {
  cause: string;
  runs: number;
  detected: number;
  rightCause: number;
  medianDetectionDelay: number | null;
}

export function detectionByCause(results: ScenarioResult[], pick: (r: ScenarioResult) => Verdict): CauseDetection[] {
  const faults = results.filter((r) => r.expect.rootCause !== "none");
  return ordered(faults.map((r) => r.expect.rootCause)).map((cause) => {
    const verdicts = faults.filter((r) => r.expect.rootCause === cause).map((r) => pick(r));
    return {
      cause,
      runs: verdicts.length,
      detected: verdicts.filter((v) => v.detected).length,
      rightCause: verdicts.filter((v) => v.detected && v.rootCause === cause).length,
      medianDetectionDelay: median(verdicts.map((v) => v.detectionDelayRequests).filter((d): d is number => d !== null)),
    };
  });
}

function share<T>(items: T[], test: (t: T) => boolean): number | null {
  return items.length === 0 ? null : items.filter(test).length / items.length;
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
