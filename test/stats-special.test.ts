import { describe, expect, it } from "vitest";
import { kolmogorovSurvival } from "../stats/kolmogorov.ts";
import {
  chiSquareSurvival,
  logGamma,
  normalCdf,
  normalQuantile,
  regularizedGammaP,
  regularizedGammaQ,
  Z_95,
} from "../stats/special.ts";
import { expectClose, reference } from "./fixtures/stats/reference.ts";

const { special } = reference;

describe("logGamma", () => {
  it("matches scipy.special.gammaln to 1e-13 relative (1e-15 absolute near its zeros at 1 and 2)", () => {
    for (const [x, expected] of special.logGamma) expectClose(logGamma(x!), expected!, { rel: 1e-13, abs: 1e-15 }, `lgamma(${x})`);
  });

  it("rejects non-positive arguments", () => {
    expect(() => logGamma(0)).toThrow(/> 0/);
    expect(() => logGamma(-1.5)).toThrow(/> 0/);
  });
});

describe("regularized incomplete gamma", () => {
  it("matches scipy gammainc / gammaincc to 1e-12 relative", () => {
    for (const [a, x, p, q] of special.gamma) {
      expectClose(regularizedGammaP(a!, x!), p!, { rel: 1e-12, abs: 1e-300 }, `P(${a}, ${x})`);
      expectClose(regularizedGammaQ(a!, x!), q!, { rel: 1e-12, abs: 1e-300 }, `Q(${a}, ${x})`);
    }
  });

  it("handles the ends of the domain", () => {
    expect(regularizedGammaP(2, 0)).toBe(0);
    expect(regularizedGammaQ(2, 0)).toBe(1);
    expect(regularizedGammaQ(2, Infinity)).toBe(0);
    expect(() => regularizedGammaQ(0, 1)).toThrow(/a must be/);
    expect(() => regularizedGammaP(1, -1)).toThrow(/x must be/);
  });

  it("chiSquareSurvival matches scipy.stats.chi2.sf to 1e-12 relative", () => {
    for (const [x, df, expected] of special.chi2Sf) expectClose(chiSquareSurvival(x!, df!), expected!, { rel: 1e-12 }, `chi2.sf(${x}, ${df})`);
    expect(chiSquareSurvival(0, 3)).toBe(1);
    expect(() => chiSquareSurvival(1, 0)).toThrow(/df/);
  });
});

describe("normal distribution", () => {
  // 1e-12: in the far tail the result is exp(−x²/2 + …), and exponentiating a ~700-magnitude
  // argument amplifies its rounding to ~1.5e-13 relative.
  it("normalCdf matches scipy.stats.norm.cdf to 1e-12 relative, including the far lower tail", () => {
    for (const [x, expected] of special.normalCdf) expectClose(normalCdf(x!), expected!, { rel: 1e-12 }, `Phi(${x})`);
  });

  it("normalQuantile matches scipy.stats.norm.ppf to 1e-13 relative", () => {
    for (const [p, expected] of special.normalPpf) expectClose(normalQuantile(p!), expected!, { rel: 1e-13, abs: 1e-15 }, `ppf(${p})`);
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
    expect(() => normalQuantile(1.5)).toThrow(/\[0, 1\]/);
  });

  it("Z_95 is the two-sided 95% critical value", () => {
    expectClose(Z_95, 1.959963984540054, { rel: 1e-14 });
  });
});

describe("kolmogorovSurvival (scipy.stats.kstwo.sf)", () => {
  // Exact branches agree with scipy to ~1e-11 relative (plain doubles vs scipy's double-double).
  // For 1e5 < n ≤ 1e6 and n·d² ≥ 2.2 we use the Smirnov approximation scipy reserves for n > 1e6:
  // there the reference is exact and we allow 5e-7 absolute (measured 2.6e-7).
  it("matches scipy over every branch of the dispatch", () => {
    for (const [n, d, expected] of reference.kolmogorov) {
      const approximated = n! > 100_000 && n! <= 1_000_000 && n! * d! * d! >= 2.2;
      const tolerance = approximated ? { abs: 5e-7 } : { rel: 1e-10, abs: 1e-300 };
      expectClose(kolmogorovSurvival(n!, d!), expected!, tolerance, `kstwo.sf(${d}, ${n})`);
    }
  });

  it("covers the grid densely enough to exercise each branch", () => {
    const ns = new Set(reference.kolmogorov.map(([n]) => n));
    for (const n of [1, 140, 141, 10_000, 10_001, 100_000, 100_001, 1_000_001]) expect(ns.has(n)).toBe(true);
  });

  it("is 1 at d ≤ 0, 0 at d ≥ 1 and rejects non-integer n", () => {
    expect(kolmogorovSurvival(10, 0)).toBe(1);
    expect(kolmogorovSurvival(10, 1)).toBe(0);
    expect(() => kolmogorovSurvival(2.5, 0.1)).toThrow(/positive integer/);
    expect(() => kolmogorovSurvival(10, Number.NaN)).toThrow(/NaN/);
  });

  it("decreases in d", () => {
    let previous = 1;
    for (let d = 0.001; d < 1; d += 0.01) {
      const p = kolmogorovSurvival(300, d);
      expect(p).toBeLessThanOrEqual(previous);
      previous = p;
    }
  });
});
