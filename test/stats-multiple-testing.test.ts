import { describe, expect, it } from "vitest";
import type { DriftTestResult } from "../stats/drift/registry.ts";
import { benjaminiHochberg, bonferroni, datasetDrift } from "../stats/multiple-testing.ts";
import { expectClose, reference } from "./fixtures/stats/reference.ts";

describe("bonferroni", () => {
  it("multiplies by the number of tests, capped at 1", () => {
    for (const c of reference.multipleTesting) {
      bonferroni(c.pValues).adjusted.forEach((p, i) => expectClose(p, c.bonferroni[i]!, { rel: 1e-15 }));
    }
    expect(bonferroni([0.01, 0.02, 0.5], 0.05).rejected).toEqual([true, false, false]);
  });
});

describe("benjaminiHochberg", () => {
  it("matches scipy.stats.false_discovery_control(method='bh') to 1e-15 relative", () => {
    for (const c of reference.multipleTesting) {
      benjaminiHochberg(c.pValues).adjusted.forEach((p, i) => expectClose(p, c.bh[i]!, { rel: 1e-15 }, `index ${i}`));
    }
  });

  it("keeps input order and applies the step-up rule", () => {
    // Sorted: 0.005, 0.01, 0.03, 0.04 | 0.2, 0.8 → m·p/rank = 0.03, 0.03, 0.06, 0.06, 0.24, 0.8.
    const { adjusted, rejected } = benjaminiHochberg([0.01, 0.04, 0.03, 0.005, 0.2, 0.8], 0.05);
    [0.03, 0.06, 0.06, 0.03, 0.24, 0.8].forEach((expected, i) => expectClose(adjusted[i]!, expected, { rel: 1e-14 }));
    expect(rejected).toEqual([true, false, false, true, false, false]);
  });

  it("rejects a p-value above its own BH line when a larger one passes (step-up, not step-down)", () => {
    // Lines at α·rank/m: 0.0167, 0.0333, 0.05. 0.02 misses its own line, but 0.04 passes at
    // rank 3, so all three are rejected.
    const { adjusted, rejected } = benjaminiHochberg([0.04, 0.02, 0.03], 0.05);
    expect(rejected).toEqual([true, true, true]);
    adjusted.forEach((p) => expectClose(p, 0.04, { rel: 1e-14 }));
  });

  it("adjusted values are monotone in the raw p-values and never below them", () => {
    const ps = reference.multipleTesting[1]!.pValues;
    const { adjusted } = benjaminiHochberg(ps);
    const order = ps.map((_, i) => i).sort((a, b) => ps[a]! - ps[b]!);
    for (let k = 1; k < order.length; k++) expect(adjusted[order[k]!]!).toBeGreaterThanOrEqual(adjusted[order[k - 1]!]!);
    ps.forEach((p, i) => expect(adjusted[i]!).toBeGreaterThanOrEqual(p));
  });

  it("handles an empty list and rejects invalid p-values", () => {
    expect(benjaminiHochberg([])).toEqual({ adjusted: [], rejected: [] });
    expect(() => benjaminiHochberg([0.2, 1.5])).toThrow("benjaminiHochberg: p-values must be in [0, 1], got 1.5 at index 1");
    expect(() => bonferroni([0.2], 0)).toThrow(/alpha/);
  });
});

describe("datasetDrift", () => {
  const ks = (pValue: number): DriftTestResult => ({ method: "ks", score: 0.2, pValue, threshold: 0.05, drifted: pValue < 0.05 });
  const psi = (score: number): DriftTestResult => ({ method: "psi", score, threshold: 0.1, drifted: score >= 0.1 });

  it("share of drifted features against the share threshold (≥, as Evidently)", () => {
    const results = [ks(0.01), ks(0.3), psi(0.2), psi(0.05)];
    expect(datasetDrift(results)).toEqual({ featureDrifted: [true, false, true, false], adjustedPValues: [0.01, 0.3, null, null], driftedCount: 2, share: 0.5, drifted: true });
    expect(datasetDrift(results, { shareThreshold: 0.6 }).drifted).toBe(false);
  });

  it("corrections re-judge only p-value results, against their own threshold", () => {
    const results = [ks(0.01), ks(0.02), ks(0.04), psi(0.5)];
    // Bonferroni over the 3 p-values: 0.03, 0.06, 0.12 → only the first still drifts.
    expect(datasetDrift(results, { correction: "bonferroni" }).featureDrifted).toEqual([true, false, false, true]);
    expect(datasetDrift(results, { correction: "bonferroni" }).adjustedPValues.map((p) => p && +p.toFixed(12))).toEqual([0.03, 0.06, 0.12, null]);
    // BH: 0.03, 0.03, 0.04 → all three still drift.
    expect(datasetDrift(results, { correction: "benjamini-hochberg" }).featureDrifted).toEqual([true, true, true, true]);
    expect(datasetDrift(results, { correction: "benjamini-hochberg" }).adjustedPValues.map((p) => p && +p.toFixed(12))).toEqual([0.03, 0.03, 0.04, null]);
  });

  it("rejects an empty result list and a bad share threshold", () => {
    expect(() => datasetDrift([])).toThrow("datasetDrift: no feature results");
    expect(() => datasetDrift([ks(0.5)], { shareThreshold: 2 })).toThrow(/shareThreshold/);
  });
});
