import { describe, expect, it } from "vitest";
import { mcnemar } from "../stats/mcnemar.ts";
import { twoProportionZTest, wilsonInterval } from "../stats/proportions.ts";
import { expectClose, reference } from "./fixtures/stats/reference.ts";

describe("wilsonInterval", () => {
  it("matches scipy binomtest(...).proportion_ci(method='wilson') to 1e-12", () => {
    for (const c of reference.proportions.wilson) {
      const { lower, upper } = wilsonInterval(c.successes, c.trials, c.z);
      expectClose(lower, c.lower, { abs: 1e-12 }, `${c.successes}/${c.trials} lower`);
      expectClose(upper, c.upper, { abs: 1e-12 }, `${c.successes}/${c.trials} upper`);
    }
  });

  it("defaults to 95% and stays inside [0, 1] at the extremes", () => {
    const c = reference.proportions.wilson.find((w) => w.successes === 7 && w.trials === 20)!;
    expectClose(wilsonInterval(7, 20).lower, c.lower, { abs: 1e-12 });
    expect(wilsonInterval(0, 10).lower).toBe(0);
    expect(wilsonInterval(10, 10).upper).toBe(1);
    expect(wilsonInterval(0, 10).upper).toBeGreaterThan(0.2);
  });

  it("rejects impossible counts", () => {
    expect(() => wilsonInterval(0, 0)).toThrow("wilsonInterval: trials must be a positive integer, got 0");
    expect(() => wilsonInterval(11, 10)).toThrow(/successes must be an integer in \[0, 10\]/);
    expect(() => wilsonInterval(1, 10, 0)).toThrow(/z must be/);
  });
});

describe("twoProportionZTest (pooled, two-sided)", () => {
  it("matches the formula with scipy.stats.norm.sf to 1e-12", () => {
    for (const c of reference.proportions.twoProportionZ) {
      const result = twoProportionZTest(c.x1, c.n1, c.x2, c.n2);
      expectClose(result.z, c.z, { rel: 1e-12, abs: 1e-15 });
      expectClose(result.pValue, c.pValue, { rel: 1e-12 });
    }
  });

  it("is antisymmetric in z and symmetric in p", () => {
    const ab = twoProportionZTest(45, 100, 60, 110);
    const ba = twoProportionZTest(60, 110, 45, 100);
    expect(ba.z).toBeCloseTo(-ab.z, 14);
    expect(ba.pValue).toBeCloseTo(ab.pValue, 14);
  });

  it("returns z = 0, p = 1 when both samples are all successes or all failures", () => {
    expect(twoProportionZTest(0, 10, 0, 20)).toEqual({ z: 0, pValue: 1 });
    expect(twoProportionZTest(10, 10, 20, 20)).toEqual({ z: 0, pValue: 1 });
  });
});

describe("mcnemar (statsmodels conventions)", () => {
  it("matches scipy binomtest (b + c < 25) and chi2.sf with continuity correction (otherwise)", () => {
    for (const c of reference.mcnemar) {
      const result = mcnemar(c.b, c.c);
      expect(result.method).toBe(c.method);
      expectClose(result.statistic, c.statistic, { rel: 1e-14 }, `b=${c.b} c=${c.c} statistic`);
      expectClose(result.pValue, c.pValue, { rel: 1e-12 }, `b=${c.b} c=${c.c} p`);
    }
  });

  it("switches to chi-square at 25 discordant pairs", () => {
    expect(mcnemar(12, 12).method).toBe("exact");
    expect(mcnemar(12, 13).method).toBe("chi-square");
  });

  it("exact p-value by hand: b=2, c=9 → 2·(1 + 11 + 55)/2^11", () => {
    expect(mcnemar(2, 9).pValue).toBe((2 * 67) / 2048);
  });

  it("rejects negative or fractional counts", () => {
    expect(() => mcnemar(-1, 3)).toThrow(/non-negative integers/);
    expect(() => mcnemar(1.5, 3)).toThrow(/non-negative integers/);
  });
});
