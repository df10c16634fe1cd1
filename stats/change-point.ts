import { normalCdf } from "./special.ts";

/**
 * One change in the mean of a sequence, found by CUSUM: observations arrive in buckets (count,
 * sum, sum of squares); the split that maximizes |S_k − N_k·μ| / (σ·√N) is the change, and under
 * "no change" that statistic is the supremum of a Brownian bridge, whose tail is Kolmogorov's.
 */
export interface Bucket {
  n: number;
  sum: number;
  sumSquares: number;
}

export interface ChangePoint {
  /** Buckets [0, index) are before the change, [index, …) after it. */
  index: number;
  statistic: number;
  pValue: number;
  meanBefore: number;
  meanAfter: number;
}

/** Asymptotic P(sup |B(t)| > c) for a Brownian bridge (Kolmogorov's distribution). */
export function brownianBridgeSurvival(c: number): number {
  if (!(c > 0)) return 1;
  if (c < 0.3) return 1;
  let p = 0;
  for (let j = 1; j <= 100; j++) {
    const term = 2 * (j % 2 === 1 ? 1 : -1) * Math.exp(-2 * j * j * c * c);
    p += term;
    if (Math.abs(term) < 1e-12) break;
  }
  return Math.min(1, Math.max(0, p));
}

/** Null when there are fewer than two non-empty buckets or no variation at all. */
export function cusumChangePoint(buckets: readonly Bucket[]): ChangePoint | null {
  const total = buckets.reduce((a, b) => ({ n: a.n + b.n, sum: a.sum + b.sum, sumSquares: a.sumSquares + b.sumSquares }), { n: 0, sum: 0, sumSquares: 0 });
  if (total.n < 2 || buckets.filter((b) => b.n > 0).length < 2) return null;
  const mean = total.sum / total.n;
  const variance = total.sumSquares / total.n - mean * mean;
  if (!(variance > 1e-12)) return null;
  const scale = Math.sqrt(variance * total.n);
  let best = { index: 0, statistic: 0, n: 0, sum: 0 };
  let n = 0;
  let sum = 0;
  for (let k = 0; k < buckets.length - 1; k++) {
    n += buckets[k]!.n;
    sum += buckets[k]!.sum;
    const statistic = Math.abs(sum - n * mean) / scale;
    if (statistic > best.statistic && n > 0 && n < total.n) best = { index: k + 1, statistic, n, sum };
  }
  if (best.index === 0) return null;
  return {
    index: best.index,
    statistic: best.statistic,
    pValue: brownianBridgeSurvival(best.statistic),
    meanBefore: best.sum / best.n,
    meanAfter: (total.sum - best.sum) / (total.n - best.n),
  };
}

export interface Trend {
  /** Change of the mean per bucket. */
  slope: number;
  z: number;
  /** Two-sided. */
  pValue: number;
}

/**
 * A steady drift of the mean across buckets: the least-squares slope of every observation on its
 * bucket's position, against the sequence's own variance. A ramp that is still going shows here
 * long before one split (CUSUM) stands out. Null with fewer than three non-empty buckets.
 */
export function meanTrend(buckets: readonly Bucket[]): Trend | null {
  const used = buckets.map((b, x) => ({ ...b, x })).filter((b) => b.n > 0);
  if (used.length < 3) return null;
  const n = used.reduce((a, b) => a + b.n, 0);
  const xMean = used.reduce((a, b) => a + b.n * b.x, 0) / n;
  const yMean = used.reduce((a, b) => a + b.sum, 0) / n;
  const variance = used.reduce((a, b) => a + b.sumSquares, 0) / n - yMean * yMean;
  const sxx = used.reduce((a, b) => a + b.n * (b.x - xMean) ** 2, 0);
  if (!(variance > 1e-12) || !(sxx > 0)) return null;
  const slope = used.reduce((a, b) => a + (b.x - xMean) * (b.sum - b.n * yMean), 0) / sxx;
  const z = slope / Math.sqrt(variance / sxx);
  return { slope, z, pValue: 2 * normalSurvival(Math.abs(z)) };
}

function normalSurvival(z: number): number {
  return 1 - normalCdf(z);
}
