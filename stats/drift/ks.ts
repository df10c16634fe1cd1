// Two-sample Kolmogorov–Smirnov test, two-sided. The p-value is scipy.stats.ks_2samp's
// method="asymp": the exact one-sample Kolmogorov distribution evaluated at the rounded effective
// sample size n1·n2/(n1+n2). With ties (always the case for binned data) it is conservative.
import { kolmogorovSurvival } from "../kolmogorov.ts";
import { checkSample, histogramTotals } from "./histogram.ts";

export interface KsResult {
  /** Largest absolute difference between the two empirical CDFs. */
  readonly statistic: number;
  readonly pValue: number;
}

/** KS test on raw samples: exact statistic, p-value as scipy ks_2samp(method="asymp"). */
export function ksSamples(ref: readonly number[], cur: readonly number[]): KsResult {
  checkSample("ksSamples", "reference", ref);
  checkSample("ksSamples", "current", cur);
  const a = Float64Array.from(ref).sort();
  const b = Float64Array.from(cur).sort();
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let statistic = 0;
  // Step through distinct values, consuming all ties before comparing the CDFs (searchsorted "right").
  while (i < n1 && j < n2) {
    const x = Math.min(a[i]!, b[j]!);
    while (i < n1 && a[i]! <= x) i++;
    while (j < n2 && b[j]! <= x) j++;
    const diff = Math.abs(i / n1 - j / n2);
    if (diff > statistic) statistic = diff;
  }
  // Once one sample is exhausted its CDF is 1 and the other's only grows towards 1.
  return { statistic, pValue: ksPValue(statistic, n1, n2) };
}

/** KS test on counts over shared ordered bins: statistic at bin boundaries, p-value from the count totals. */
export function ksBinned(refCounts: readonly number[], curCounts: readonly number[]): KsResult {
  const totals = histogramTotals("ksBinned", refCounts, curCounts);
  let refCum = 0;
  let curCum = 0;
  let statistic = 0;
  for (let i = 0; i < refCounts.length; i++) {
    refCum += refCounts[i]!;
    curCum += curCounts[i]!;
    const diff = Math.abs(refCum / totals.ref - curCum / totals.cur);
    if (diff > statistic) statistic = diff;
  }
  return { statistic, pValue: ksPValue(statistic, totals.ref, totals.cur) };
}

function ksPValue(statistic: number, n1: number, n2: number): number {
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const effectiveN = roundHalfToEven((m * n) / (m + n));
  // Only n1 = n2 = 1 rounds to 0; scipy returns NaN there. One observation per side proves nothing.
  if (effectiveN < 1) return 1;
  return kolmogorovSurvival(effectiveN, statistic);
}

// numpy.round semantics, which scipy applies to the effective n (12.5 → 12, 13.5 → 14).
function roundHalfToEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}
