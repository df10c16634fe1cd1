// Multiple-testing corrections for the per-feature drift p-values, and the dataset-level verdict.
import type { DriftTestResult } from "./drift/registry.ts";

export type Correction = "none" | "bonferroni" | "benjamini-hochberg";

export interface AdjustedPValues {
  /** Adjusted p-values, in input order, capped at 1. */
  readonly adjusted: number[];
  /** adjusted ≤ alpha: the textbook (and statsmodels multipletests) rejection rule. */
  readonly rejected: boolean[];
}

function checkPValues(name: string, pValues: readonly number[], alpha: number): void {
  if (!(alpha > 0 && alpha < 1)) throw new Error(`${name}: alpha must be in (0, 1), got ${alpha}`);
  for (let i = 0; i < pValues.length; i++) {
    const p = pValues[i]!;
    if (!(p >= 0 && p <= 1)) throw new Error(`${name}: p-values must be in [0, 1], got ${p} at index ${i}`);
  }
}

/** Bonferroni: p·m capped at 1 (controls the family-wise error rate). */
export function bonferroni(pValues: readonly number[], alpha = 0.05): AdjustedPValues {
  checkPValues("bonferroni", pValues, alpha);
  const m = pValues.length;
  const adjusted = pValues.map((p) => Math.min(1, p * m));
  return { adjusted, rejected: adjusted.map((p) => p <= alpha) };
}

/**
 * Benjamini–Hochberg step-up (controls the false discovery rate): with p sorted ascending,
 * adjusted p_(i) = min over j ≥ i of p_(j)·m/j, capped at 1 — scipy.stats.false_discovery_control.
 */
export function benjaminiHochberg(pValues: readonly number[], alpha = 0.05): AdjustedPValues {
  checkPValues("benjaminiHochberg", pValues, alpha);
  const m = pValues.length;
  const order = Array.from({ length: m }, (_, i) => i).sort((a, b) => pValues[a]! - pValues[b]!);
  const adjusted = new Array<number>(m);
  let running = 1;
  // From the largest p down, so each value is the minimum over all larger ranks.
  for (let rank = m; rank >= 1; rank--) {
    const index = order[rank - 1]!;
    running = Math.min(running, (pValues[index]! * m) / rank);
    adjusted[index] = running;
  }
  return { adjusted, rejected: adjusted.map((p) => p <= alpha) };
}

export interface DatasetDriftOptions {
  /** Dataset drift when the share of drifted features is ≥ this (Evidently's drift_share). */
  readonly shareThreshold?: number;
  /** Applied to the features tested by p-value; distance-based results keep their own verdict. */
  readonly correction?: Correction;
}

export interface DatasetDrift {
  /** Per-feature verdict after correction, in input order. */
  readonly featureDrifted: boolean[];
  /** Per result, in input order: its p-value after the correction (as it is under "none"); null for distance results. */
  readonly adjustedPValues: (number | null)[];
  readonly driftedCount: number;
  readonly share: number;
  readonly drifted: boolean;
}

/**
 * Share of drifted features and the dataset verdict. With a correction, each p-value result is
 * re-judged as adjusted p < its own threshold — the same strict rule as the per-feature test.
 */
export function datasetDrift(results: readonly DriftTestResult[], options: DatasetDriftOptions = {}): DatasetDrift {
  const { shareThreshold = 0.5, correction = "none" } = options;
  if (results.length === 0) throw new Error("datasetDrift: no feature results");
  if (!(shareThreshold >= 0 && shareThreshold <= 1)) {
    throw new Error(`datasetDrift: shareThreshold must be in [0, 1], got ${shareThreshold}`);
  }
  const adjustedPValues = adjust(results, correction);
  const featureDrifted = results.map((r, i) => (correction === "none" || adjustedPValues[i] === null ? r.drifted : adjustedPValues[i]! < r.threshold));
  const driftedCount = featureDrifted.filter(Boolean).length;
  const share = driftedCount / results.length;
  return { featureDrifted, adjustedPValues, driftedCount, share, drifted: share >= shareThreshold };
}

/** The p-value results' p-values, corrected over all of them together; null where a result has none. */
function adjust(results: readonly DriftTestResult[], correction: Correction): (number | null)[] {
  const tested = results.flatMap((r, i) => (r.pValue === undefined ? [] : [i]));
  const pValues = tested.map((i) => results[i]!.pValue!);
  const adjusted = correction === "none" ? pValues : (correction === "bonferroni" ? bonferroni(pValues) : benjaminiHochberg(pValues)).adjusted;
  const out: (number | null)[] = results.map(() => null);
  tested.forEach((resultIndex, k) => (out[resultIndex] = adjusted[k]!));
  return out;
}
