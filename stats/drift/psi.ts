// Population stability index: Σ (ref% − cur%) · ln(ref% / cur%) over shared bins.
import { histogramTotals } from "./histogram.ts";

/**
 * Proportion substituted for an empty bin so the logarithm stays finite. Evidently uses 0.0001 on
 * proportions, except that it switches to (smallest non-zero proportion)/1e6 when that smallest
 * proportion is itself ≤ 0.0001; we always use the fixed value. Proportions are not renormalized.
 */
export const PSI_EPSILON = 1e-4;

/** PSI of current against reference counts; empty bins count as PSI_EPSILON of their side. */
export function psi(refCounts: readonly number[], curCounts: readonly number[]): number {
  const totals = histogramTotals("psi", refCounts, curCounts);
  let sum = 0;
  for (let i = 0; i < refCounts.length; i++) {
    const r = refCounts[i]! / totals.ref || PSI_EPSILON;
    const c = curCounts[i]! / totals.cur || PSI_EPSILON;
    sum += (r - c) * Math.log(r / c);
  }
  return sum;
}

export type PsiLevel = "none" | "moderate" | "major";

/** The usual reading of a PSI: < 0.1 no shift, < 0.25 a moderate one, otherwise major. */
export function psiLevel(score: number): PsiLevel {
  return score < 0.1 ? "none" : score < 0.25 ? "moderate" : "major";
}
