// Fisher's exact test on a 2×2 table, for segment error rates where counts are too small for the
// normal approximation of the two-proportion z-test.
import { logGamma } from "./special.ts";

function logChoose(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

/**
 * One-sided Fisher exact test that group 1's rate exceeds group 2's (scipy.stats.fisher_exact on
 * [[s1, n1 − s1], [s2, n2 − s2]] with alternative="greater"): P(X ≥ s1) for X hypergeometric with
 * the table's margins fixed.
 */
export function fisherExactGreater(successes1: number, trials1: number, successes2: number, trials2: number): number {
  for (const [s, n] of [
    [successes1, trials1],
    [successes2, trials2],
  ] as const) {
    if (!Number.isInteger(n) || n < 1 || !Number.isInteger(s) || s < 0 || s > n) throw new Error(`fisherExactGreater: need integers 0 ≤ successes ≤ trials, trials ≥ 1; got ${s} of ${n}`);
  }
  const total = trials1 + trials2;
  const successes = successes1 + successes2;
  const top = Math.min(successes, trials1);
  const logDenominator = logChoose(total, trials1);
  let p = 0;
  for (let k = successes1; k <= top; k++) p += Math.exp(logChoose(successes, k) + logChoose(total - successes, trials1 - k) - logDenominator);
  return Math.min(1, p);
}
