// Confidence intervals and tests for proportions (accuracy, error rates, class shares).
import { normalCdf, Z_95 } from "./special.ts";

export interface Interval {
  readonly lower: number;
  readonly upper: number;
}

function checkCount(name: string, successes: number, trials: number): void {
  if (!Number.isInteger(trials) || trials < 1) throw new Error(`${name}: trials must be a positive integer, got ${trials}`);
  if (!Number.isInteger(successes) || successes < 0 || successes > trials) {
    throw new Error(`${name}: successes must be an integer in [0, ${trials}], got ${successes}`);
  }
}

/**
 * Wilson score interval (no continuity correction); z defaults to Φ⁻¹(0.975) for 95%. Unlike the
 * Wald interval it stays inside [0, 1] and does not collapse at 0 or n successes.
 */
export function wilsonInterval(successes: number, trials: number, z = Z_95): Interval {
  checkCount("wilsonInterval", successes, trials);
  if (!(z > 0) || z === Infinity) throw new Error(`wilsonInterval: z must be finite and > 0, got ${z}`);
  const p = successes / trials;
  const z2n = (z * z) / trials;
  const center = (p + z2n / 2) / (1 + z2n);
  const halfWidth = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / trials + z2n / (4 * trials));
  return { lower: Math.max(0, center - halfWidth), upper: Math.min(1, center + halfWidth) };
}

export interface ZTestResult {
  readonly z: number;
  /** Two-sided. */
  readonly pValue: number;
}

/**
 * Two-proportion z-test with the pooled variance, two-sided: z = (p1 − p2) / sqrt(P(1−P)(1/n1 + 1/n2)).
 * When both samples are all successes or all failures the variance is 0 and there is no
 * difference to detect: z = 0, p = 1.
 */
export function twoProportionZTest(successes1: number, trials1: number, successes2: number, trials2: number): ZTestResult {
  checkCount("twoProportionZTest", successes1, trials1);
  checkCount("twoProportionZTest", successes2, trials2);
  const p1 = successes1 / trials1;
  const p2 = successes2 / trials2;
  const pooled = (successes1 + successes2) / (trials1 + trials2);
  const variance = pooled * (1 - pooled) * (1 / trials1 + 1 / trials2);
  if (variance === 0) return { z: 0, pValue: 1 };
  const z = (p1 - p2) / Math.sqrt(variance);
  return { z, pValue: 2 * normalCdf(-Math.abs(z)) };
}
