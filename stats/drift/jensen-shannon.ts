// Jensen–Shannon distance, as scipy.spatial.distance.jensenshannon(ref, cur) with the default
// natural logarithm (Evidently passes base=None): sqrt((KL(p‖m) + KL(q‖m)) / 2), m = (p + q)/2.
// Bounded by sqrt(ln 2) ≈ 0.833. Empty bins need no epsilon: 0·ln(0/m) is taken as 0.
import { histogramTotals } from "./histogram.ts";

/** Jensen–Shannon distance (natural log) between the normalized reference and current counts. */
export function jensenShannonDistance(refCounts: readonly number[], curCounts: readonly number[]): number {
  const totals = histogramTotals("jensenShannonDistance", refCounts, curCounts);
  let sum = 0;
  for (let i = 0; i < refCounts.length; i++) {
    const p = refCounts[i]! / totals.ref;
    const q = curCounts[i]! / totals.cur;
    const m = (p + q) / 2;
    if (p > 0) sum += p * Math.log(p / m);
    if (q > 0) sum += q * Math.log(q / m);
  }
  // Rounding can leave a tiny negative sum for identical inputs.
  return Math.sqrt(Math.max(sum, 0) / 2);
}
