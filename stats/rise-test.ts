// Did a rate rise between a reference and a current sample: the one-sided test segment analysis uses.
import { fisherExactGreater } from "./fisher.ts";
import { twoProportionZTest } from "./proportions.ts";

export interface RiseTestResult {
  readonly test: "z-test" | "fisher-exact";
  /** One-sided: H1 current rate > reference rate. */
  readonly pValue: number;
}

/** The z-test's normal approximation is trusted when every expected cell of the 2×2 table is ≥ this (the textbook rule). */
export const MIN_EXPECTED_CELL = 5;

/** One-sided pooled two-proportion z-test, or Fisher's exact test when an expected cell is below MIN_EXPECTED_CELL. */
export function rateRiseTest(currentEvents: number, currentTrials: number, referenceEvents: number, referenceTrials: number): RiseTestResult {
  const total = currentTrials + referenceTrials;
  const events = currentEvents + referenceEvents;
  const smallestMargin = Math.min(events, total - events);
  const smallestExpected = (smallestMargin * Math.min(currentTrials, referenceTrials)) / total;
  if (smallestExpected < MIN_EXPECTED_CELL) {
    return { test: "fisher-exact", pValue: fisherExactGreater(currentEvents, currentTrials, referenceEvents, referenceTrials) };
  }
  const { z, pValue } = twoProportionZTest(currentEvents, currentTrials, referenceEvents, referenceTrials);
  return { test: "z-test", pValue: z > 0 ? pValue / 2 : 1 - pValue / 2 };
}
