import { describe, expect, it } from "vitest";
import { chiSquare } from "../stats/drift/chi-square.ts";
import { jensenShannonDistance } from "../stats/drift/jensen-shannon.ts";
import { ksBinned, ksSamples } from "../stats/drift/ks.ts";
import { psi, PSI_EPSILON } from "../stats/drift/psi.ts";
import { wassersteinBinned, wassersteinSamples } from "../stats/drift/wasserstein.ts";
import { expectClose, reference } from "./fixtures/stats/reference.ts";

// Tolerances: statistics and distances are computed the same way as scipy/numpy, so they match
// to rounding (1e-12 relative; the KS statistic exactly). p-values inherit the accuracy of the
// special functions (1e-10 relative, see stats-special.test.ts).

describe("ksSamples (scipy ks_2samp, method='asymp')", () => {
  for (const c of reference.samples) {
    it(c.name, () => {
      const result = ksSamples(c.ref, c.cur);
      expect(result.statistic).toBe(c.ksStatistic);
      expectClose(result.pValue, c.ksPValue, { rel: 1e-10 });
    });
  }

  it("is symmetric in its arguments", () => {
    const [a, b] = [reference.samples[0]!.ref, reference.samples[0]!.cur];
    expect(ksSamples(a, b)).toEqual(ksSamples(b, a));
  });

  it("finds no drift between identical samples, or single-valued equal samples", () => {
    expect(ksSamples([1, 2, 3, 4], [4, 3, 2, 1])).toEqual({ statistic: 0, pValue: 1 });
    expect(ksSamples([7], [7, 7, 7])).toEqual({ statistic: 0, pValue: 1 });
  });

  it("does not reject on one observation per side (effective n rounds to 0; scipy gives NaN)", () => {
    expect(ksSamples([1], [2])).toEqual({ statistic: 1, pValue: 1 });
  });

  it("detects fully separated samples", () => {
    const low = Array.from({ length: 50 }, (_, i) => i);
    const high = low.map((x) => x + 100);
    const result = ksSamples(low, high);
    expect(result.statistic).toBe(1);
    expect(result.pValue).toBeLessThan(1e-10);
  });

  it("rejects empty and non-finite samples with a clear message", () => {
    expect(() => ksSamples([], [1])).toThrow("ksSamples: reference sample is empty");
    expect(() => ksSamples([1], [])).toThrow("ksSamples: current sample is empty");
    expect(() => ksSamples([1, Number.NaN], [1])).toThrow(/non-finite value at index 1/);
  });
});

describe("ksBinned", () => {
  for (const c of reference.ksBinned) {
    it(c.name, () => {
      const result = ksBinned(c.ref, c.cur);
      expectClose(result.statistic, c.statistic, { rel: 1e-12 });
      // The 5e6-vs-3e6 case uses the approximation for effective n > 1e5; its reference (computed
      // with scipy's own approximation for n > 1e6) uses the same formula, so 1e-10 holds too.
      expectClose(result.pValue, c.pValue, { rel: 1e-10, abs: 1e-300 });
    });
  }

  it("all-zero bins in both histograms change nothing", () => {
    const base = ksBinned([5, 10, 20], [10, 10, 5]);
    expect(ksBinned([0, 5, 0, 10, 20, 0], [0, 10, 0, 10, 5, 0])).toEqual(base);
  });

  it("agrees with ksSamples when every value is its own bin", () => {
    const ref = [0, 0, 1, 2, 2, 2, 3];
    const cur = [1, 1, 2, 3, 3];
    expect(ksBinned([2, 1, 3, 1], [0, 2, 1, 2])).toEqual(ksSamples(ref, cur));
  });

  it("rejects mismatched, empty and invalid histograms", () => {
    expect(() => ksBinned([1, 2], [1])).toThrow("ksBinned: reference has 2 bins but current has 1");
    expect(() => ksBinned([], [])).toThrow(/at least one bin/);
    expect(() => ksBinned([0, 0], [1, 1])).toThrow("ksBinned: reference histogram is empty (all counts are 0)");
    expect(() => ksBinned([1, 1], [0, 0])).toThrow("ksBinned: current histogram is empty (all counts are 0)");
    expect(() => ksBinned([1, -1], [1, 1])).toThrow(/finite and >= 0/);
    expect(() => ksBinned([1, Number.NaN], [1, 1])).toThrow(/finite and >= 0/);
  });
});

describe("chiSquare (scipy.stats.chi2_contingency on the 2×k table)", () => {
  for (const c of reference.chiSquare) {
    it(c.name, () => {
      const result = chiSquare(c.ref, c.cur);
      expect(result.degreesOfFreedom).toBe(c.degreesOfFreedom);
      expectClose(result.statistic, c.statistic, { rel: 1e-12 });
      expectClose(result.pValue, c.pValue, { rel: 1e-10, abs: 1e-300 });
    });
  }

  it("gives p = 1 for identical proportions", () => {
    const result = chiSquare([10, 20, 30], [100, 200, 300]);
    expectClose(result.statistic, 0, { abs: 1e-12 });
    expectClose(result.pValue, 1, { abs: 1e-12 });
  });

  it("keeps the nominal false-positive rate when reference and current are the same size", () => {
    // Same proportions, same sizes: goodness-of-fit would double the statistic; homogeneity must not.
    const result = chiSquare([260, 240, 250, 250], [240, 260, 250, 250]);
    expect(result.pValue).toBeGreaterThan(0.5);
  });

  it("gives p = 1 when everything sits in one shared bin", () => {
    expect(chiSquare([0, 50, 0], [0, 7, 0])).toEqual({ statistic: 0, pValue: 1, degreesOfFreedom: 0 });
  });

  it("a category absent from the reference yields a finite statistic, and drift when it is common", () => {
    const rare = chiSquare([5000, 5000, 0], [4999, 5000, 1]);
    expect(Number.isFinite(rare.statistic)).toBe(true);
    expect(rare.pValue).toBeGreaterThan(0.5);
    expect(chiSquare([500, 500, 0], [400, 400, 200]).pValue).toBeLessThan(1e-10);
  });

  it("rejects empty histograms", () => {
    expect(() => chiSquare([0, 0], [3, 4])).toThrow("chiSquare: reference histogram is empty (all counts are 0)");
  });
});

describe("psi", () => {
  for (const c of reference.distances) {
    it(`${c.name} (hand-computed with epsilon ${PSI_EPSILON})`, () => {
      expectClose(psi(c.ref, c.cur), c.psi, { rel: 1e-12, abs: 1e-15 });
    });
  }

  it("is 0 for identical distributions, including shared empty bins", () => {
    expect(psi([1, 0, 3], [10, 0, 30])).toBe(0);
  });

  it("is symmetric", () => {
    expectClose(psi([1, 2, 7], [4, 4, 2]), psi([4, 4, 2], [1, 2, 7]), { rel: 1e-14 });
  });
});

describe("jensenShannonDistance (scipy.spatial.distance.jensenshannon, natural log)", () => {
  for (const c of reference.distances) {
    it(c.name, () => {
      expectClose(jensenShannonDistance(c.ref, c.cur), c.jensenShannon, { rel: 1e-12, abs: 1e-15 });
    });
  }

  it("is 0 for identical proportions and sqrt(ln 2) for disjoint supports", () => {
    expect(jensenShannonDistance([2, 4, 6], [1, 2, 3])).toBe(0);
    expectClose(jensenShannonDistance([5, 0, 0], [0, 3, 4]), Math.sqrt(Math.LN2), { rel: 1e-14 });
  });
});

describe("wassersteinSamples (scipy wasserstein_distance / max(std(ref), 0.001))", () => {
  for (const c of reference.samples) {
    it(c.name, () => {
      expectClose(wassersteinSamples(c.ref, c.cur), c.wasserstein, { rel: 1e-12, abs: 1e-15 });
    });
  }

  it("single-value samples: the 0.001 floor on the reference std applies", () => {
    expect(wassersteinSamples([5, 5, 5], [5])).toBe(0);
    expectClose(wassersteinSamples([5, 5], [5.5]), 0.5 / 0.001, { rel: 1e-12 });
  });

  it("rejects empty samples", () => {
    expect(() => wassersteinSamples([1], [])).toThrow("wassersteinSamples: current sample is empty");
  });
});

describe("wassersteinBinned", () => {
  for (const c of reference.wassersteinBinned) {
    it(c.name, () => {
      const value = wassersteinBinned(c.edges, c.ref, c.cur, { min: c.min, max: c.max, refStd: c.refStd });
      expectClose(value, c.expected, { rel: 1e-10 });
    });
  }

  it("hand example: 1.35 area over refStd 1.5", () => {
    const value = wassersteinBinned([1, 2, 4], [10, 20, 30, 40], [40, 30, 20, 10], { min: 0, max: 5, refStd: 1.5 });
    expectClose(value, 0.9, { rel: 1e-14 });
  });

  it("tracks the raw-sample value when tails are light, but overstates heavy tails (outer bins spread to min/max)", () => {
    const [normal, heavy] = reference.wassersteinBinned.filter((c) => "fromSamples" in c);
    const ratio = (c: typeof normal) => c!.expected / c!.fromSamples!;
    expect(Math.abs(ratio(normal) - 1)).toBeLessThan(0.02);
    expect(ratio(heavy)).toBeGreaterThan(1.5);
  });

  it("is 0 for identical proportions and for a single bin", () => {
    const range = { min: 0, max: 10, refStd: 2 };
    expect(wassersteinBinned([2, 5], [1, 2, 3], [10, 20, 30], range)).toBe(0);
    expect(wassersteinBinned([], [4], [9], range)).toBe(0);
  });

  it("rejects inconsistent edges", () => {
    const range = { min: 0, max: 10, refStd: 1 };
    expect(() => wassersteinBinned([5], [1, 2, 3], [1, 2, 3], range)).toThrow("wassersteinBinned: 3 bins need 2 interior edges, got 1");
    expect(() => wassersteinBinned([6, 5], [1, 2, 3], [1, 2, 3], range)).toThrow(/non-decreasing/);
    expect(() => wassersteinBinned([5, 11], [1, 2, 3], [1, 2, 3], range)).toThrow(/non-decreasing/);
    expect(() => wassersteinBinned([1, 2], [1, 2, 3], [1, 2, 3], { min: 0, max: 10, refStd: Number.NaN })).toThrow(/refStd/);
  });
});
