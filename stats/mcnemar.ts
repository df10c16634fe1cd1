// McNemar's test for two models scored on the same rows, following statsmodels'
// mcnemar(table, exact=b+c<25, correction=True): only the discordant pairs matter.
import { chiSquareSurvival } from "./special.ts";

/** Below this many discordant pairs the chi-square approximation is poor; use the exact binomial test. */
export const MCNEMAR_EXACT_BELOW = 25;

export interface McNemarResult {
  /** Exact: min(b, c), as statsmodels. Chi-square: (|b − c| − 1)² / (b + c). */
  readonly statistic: number;
  readonly pValue: number;
  readonly method: "exact" | "chi-square";
}

/**
 * b = rows only model A got right, c = rows only model B got right. Exact: two-sided binomial
 * p = min(1, 2·P(X ≤ min(b, c))), X ~ Bin(b + c, 1/2) (equal to scipy.stats.binomtest, since the
 * distribution is symmetric). Otherwise chi-square with continuity correction, 1 degree of freedom.
 */
export function mcnemar(b: number, c: number): McNemarResult {
  if (!Number.isInteger(b) || !Number.isInteger(c) || b < 0 || c < 0) {
    throw new Error(`mcnemar: discordant counts must be non-negative integers, got b=${b}, c=${c}`);
  }
  const n = b + c;
  if (n < MCNEMAR_EXACT_BELOW) {
    const k = Math.min(b, c);
    return { statistic: k, pValue: Math.min(1, 2 * binomialHalfCdf(k, n)), method: "exact" };
  }
  const statistic = (Math.abs(b - c) - 1) ** 2 / n;
  return { statistic, pValue: chiSquareSurvival(statistic, 1), method: "chi-square" };
}

// P(X ≤ k) for X ~ Bin(n, 1/2); exact in doubles for the small n used here.
function binomialHalfCdf(k: number, n: number): number {
  let coefficient = 1;
  let sum = 1;
  for (let i = 1; i <= k; i++) {
    coefficient = (coefficient * (n - i + 1)) / i;
    sum += coefficient;
  }
  return sum / 2 ** n;
}
