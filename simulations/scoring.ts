import type { ScenarioResult, Verdict } from "./result.ts";
import type { Scenario } from "./scenario.ts";

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

function share<T>(items: T[], test: (t: T) => boolean): number | null {
  return items.length === 0 ? null : items.filter(test).length / items.length;
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
