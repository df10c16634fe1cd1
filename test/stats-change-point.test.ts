import { describe, expect, it } from "vitest";
import { brownianBridgeSurvival, cusumChangePoint, type Bucket } from "../stats/change-point.ts";
import { Rng } from "../models/rng.ts";

const bernoulli = (rng: Rng, n: number, p: number): Bucket => {
  let k = 0;
  for (let i = 0; i < n; i++) if (rng.next() < p) k++;
  return { n, sum: k, sumSquares: k };
};

describe("CUSUM change point", () => {
  it("the Brownian bridge tail matches Kolmogorov's distribution", () => {
    // scipy.special.kolmogorov(1.36) = 0.0494, kolmogorov(1.0) = 0.2700
    expect(brownianBridgeSurvival(1.36)).toBeCloseTo(0.0494, 3);
    expect(brownianBridgeSurvival(1.0)).toBeCloseTo(0.27, 3);
    expect(brownianBridgeSurvival(0.1)).toBe(1);
  });

  it("finds a drop in accuracy where it happened", () => {
    const rng = new Rng(3);
    const buckets = [...Array.from({ length: 24 }, () => bernoulli(rng, 30, 0.95)), ...Array.from({ length: 16 }, () => bernoulli(rng, 30, 0.82))];
    const c = cusumChangePoint(buckets)!;
    expect(c.index).toBeGreaterThanOrEqual(23);
    expect(c.index).toBeLessThanOrEqual(25);
    expect(c.pValue).toBeLessThan(1e-4);
    expect(c.meanBefore).toBeGreaterThan(0.92);
    expect(c.meanAfter).toBeLessThan(0.86);
  });

  it("finds nothing significant in a stationary sequence, and nothing at all in a degenerate one", () => {
    const rng = new Rng(11);
    const calm = cusumChangePoint(Array.from({ length: 40 }, () => bernoulli(rng, 30, 0.9)))!;
    expect(calm.pValue).toBeGreaterThan(0.01);
    expect(cusumChangePoint([])).toBeNull();
    expect(cusumChangePoint([{ n: 5, sum: 5, sumSquares: 5 }])).toBeNull();
    expect(cusumChangePoint(Array.from({ length: 5 }, () => ({ n: 10, sum: 10, sumSquares: 10 })))).toBeNull();
    expect(cusumChangePoint([{ n: 0, sum: 0, sumSquares: 0 }, { n: 0, sum: 0, sumSquares: 0 }])).toBeNull();
  });
});

describe("trend of the mean", () => {
  it("sees a ramp still going, not a flat sequence", async () => {
    const { meanTrend } = await import("../stats/change-point.ts");
    const rng = new Rng(5);
    const ramp = meanTrend(Array.from({ length: 40 }, (_, k) => bernoulli(rng, 30, 0.95 - 0.004 * k)))!;
    expect(ramp.z).toBeLessThan(-4);
    expect(ramp.pValue).toBeLessThan(1e-4);
    const flat = meanTrend(Array.from({ length: 40 }, () => bernoulli(rng, 30, 0.9)))!;
    expect(flat.pValue).toBeGreaterThan(0.01);
    expect(meanTrend([{ n: 3, sum: 1, sumSquares: 1 }])).toBeNull();
  });
});
