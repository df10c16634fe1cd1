import { describe, expect, it } from "vitest";
import { driftMethods, selectMethod, type DriftInput } from "../stats/drift/registry.ts";
import { reference } from "./fixtures/stats/reference.ts";

const shifted: DriftInput = { kind: "histogram", refCounts: [400, 300, 200, 100], curCounts: [100, 200, 300, 400] };
const same: DriftInput = { kind: "histogram", refCounts: [40, 30, 20, 10], curCounts: [400, 300, 200, 100] };

describe("driftMethods", () => {
  it("declares Evidently's defaults", () => {
    const summary = Object.values(driftMethods).map((m) => [m.name, m.defaultThreshold, m.direction, m.featureTypes]);
    expect(summary).toEqual([
      ["ks", 0.05, "p-value-below", ["numeric"]],
      ["chisquare", 0.05, "p-value-below", ["categorical", "numeric"]],
      ["psi", 0.1, "score-at-least", ["categorical", "numeric"]],
      ["wasserstein", 0.1, "score-at-least", ["numeric"]],
      ["jensenshannon", 0.1, "score-at-least", ["categorical", "numeric"]],
    ]);
  });

  it("p-value methods report the statistic as score and drift when p < threshold", () => {
    const result = driftMethods.chisquare.run(shifted);
    expect(result.method).toBe("chisquare");
    expect(result.threshold).toBe(0.05);
    expect(result.pValue).toBeLessThan(1e-10);
    expect(result.score).toBeGreaterThan(100);
    expect(result.drifted).toBe(true);
    expect(driftMethods.chisquare.run(same).drifted).toBe(false);
  });

  it("the p-value comparison is strict", () => {
    const { pValue } = driftMethods.ks.run(shifted);
    expect(driftMethods.ks.run(shifted, pValue).drifted).toBe(false);
    expect(driftMethods.ks.run(shifted, pValue! * 1.000001).drifted).toBe(true);
  });

  it("distance methods have no p-value and drift when score ≥ threshold", () => {
    const result = driftMethods.psi.run(shifted);
    expect(result.pValue).toBeUndefined();
    expect(result.drifted).toBe(true);
    expect(driftMethods.psi.run(shifted, result.score).drifted).toBe(true);
    expect(driftMethods.psi.run(shifted, result.score * 1.000001).drifted).toBe(false);
    expect(driftMethods.jensenshannon.run(same)).toEqual({ method: "jensenshannon", score: 0, threshold: 0.1, drifted: false });
  });

  it("KS and Wasserstein accept both raw samples and histograms", () => {
    const { ref, cur } = reference.samples[0]!;
    expect(driftMethods.ks.run({ kind: "samples", ref, cur }).pValue).toBeCloseTo(reference.samples[0]!.ksPValue, 12);
    expect(driftMethods.ks.run(same)).toMatchObject({ score: 0, pValue: 1, drifted: false });
    expect(driftMethods.wasserstein.run({ kind: "samples", ref, cur }).score).toBeCloseTo(reference.samples[0]!.wasserstein, 12);
    const binned = reference.wassersteinBinned[0]!;
    const result = driftMethods.wasserstein.run({
      kind: "histogram",
      refCounts: binned.ref,
      curCounts: binned.cur,
      numeric: { edges: binned.edges, range: { min: binned.min, max: binned.max, refStd: binned.refStd } },
    });
    expect(result).toMatchObject({ method: "wasserstein", drifted: true });
    expect(result.score).toBeCloseTo(binned.expected, 12);
  });

  it("explains inputs a method cannot use", () => {
    const samples: DriftInput = { kind: "samples", ref: [1, 2], cur: [3, 4] };
    expect(() => driftMethods.psi.run(samples)).toThrow("psi needs histogram input, got raw samples");
    expect(() => driftMethods.chisquare.run(samples)).toThrow("chisquare needs histogram input");
    expect(() => driftMethods.jensenshannon.run(samples)).toThrow("jensenshannon needs histogram input");
    expect(() => driftMethods.wasserstein.run(shifted)).toThrow(/needs numeric bin edges/);
    expect(() => driftMethods.ks.run(shifted, -1)).toThrow(/threshold/);
  });
});

describe("selectMethod (Evidently's default rules)", () => {
  const pick = (type: "numeric" | "categorical", uniqueValues: number, sampleSize: number) =>
    selectMethod({ type, uniqueValues, sampleSize }).name;

  it("numeric with more than 5 values: KS up to 1000 reference rows, Wasserstein above", () => {
    expect(pick("numeric", 6, 1000)).toBe("ks");
    expect(pick("numeric", 100, 10)).toBe("ks");
    expect(pick("numeric", 6, 1001)).toBe("wasserstein");
    expect(pick("numeric", 1e6, 1e7)).toBe("wasserstein");
  });

  it("categorical, or numeric with at most 5 values: chi-square up to 1000 rows, Jensen–Shannon above", () => {
    expect(pick("numeric", 5, 1000)).toBe("chisquare");
    expect(pick("numeric", 2, 50)).toBe("chisquare");
    expect(pick("categorical", 2, 1000)).toBe("chisquare");
    expect(pick("categorical", 40, 1000)).toBe("chisquare");
    expect(pick("numeric", 5, 1001)).toBe("jensenshannon");
    expect(pick("categorical", 3, 5000)).toBe("jensenshannon");
  });

  it("rejects nonsense profiles", () => {
    expect(() => pick("numeric", -1, 10)).toThrow(/>= 0/);
    expect(() => pick("numeric", 10, Number.NaN)).toThrow(/>= 0/);
  });
});
