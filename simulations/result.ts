import type { Scenario, Split } from "./scenario.ts";

/** One point of the run's time series, sampled at each monitoring check. */
export interface SeriesPoint {
  request: number;
  accuracy: number | null;
  estimatedAccuracy: number | null;
  topDriftPsi: number | null;
  p99Ms: number | null;
  errorRate: number | null;
}

export interface TimelineEvent {
  request: number;
  kind: "phase" | "inject" | "detect" | "propose" | "approve" | "act" | "rollout" | "verify" | "note";
  text: string;
}

/** What a detector (the agent, or the rule-only baseline) concluded about one scenario run. */
export interface Verdict {
  detected: boolean;
  /** Requests from the first fault to detection; null when nothing was detected or there was no fault. */
  detectionDelayRequests: number | null;
  rootCause: string;
  category: string;
  features: string[];
  remedy: string;
  /** Raised before any fault, or at all in a control. */
  falseAlarm: boolean;
}

export interface ScenarioResult extends Verdict {
  scenario: string;
  seed: number;
  /** The scenario's part of the suite; absent means "tune", the schema's default. */
  split?: Split;
  expect: Scenario["expect"];
  approved: boolean;
  /** From the system's state and accuracy after the action, never from the agent's word. */
  recovered: boolean | null;
  timeToRecoveryRequests: number | null;
  /** Served accuracy before the fault, during it (until the remedy) and after the remedy; attainable: a model trained on the post-fault population, on the after-window's requests. */
  accuracy: { before: number | null; during: number | null; after: number | null; attainable: number | null };
  unapprovedActions: number;
  faultStart: number | null;
  totalRequests: number;
  checks: { rootCause: boolean; category: boolean; features: boolean; remedy: boolean; detected: boolean; noFalseAlarm: boolean; recovered: boolean | null };
  baseline: Verdict;
  series: SeriesPoint[];
  timeline: TimelineEvent[];
  durationMs: number;
}
