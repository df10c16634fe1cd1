import { describe, expect, it } from "vitest";
import { sampleTailMeans } from "../analysis/bins.ts";
import { binIndex, featureBaselines, type NumericBaseline } from "../models/baseline.ts";
import { Rng } from "../models/rng.ts";
import { wassersteinBinned, type BinnedRange, type TailMeans } from "../stats/drift/wasserstein.ts";
import fixture from "./fixtures/stats/wasserstein-tails.json" with { type: "json" };

// Binned Wasserstein against scipy.stats.wasserstein_distance on the same samples
// (fixtures/stats/make_wasserstein_tails.py draws them with a port of models/rng.ts).

type Spec = { seed: number; n: number; mean: number; sd: number; sum: number };

function draw(spec: Spec): number[] {
  const rng = new Rng(spec.seed);
  const values = Array.from({ length: spec.n }, () => rng.normal(spec.mean, spec.sd));
  // The samples scipy saw: Math.log/sin/cos may differ from Python's in the last bit, no more.
  expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(spec.sum, 6);
  return values;
}

const ref = draw(fixture.reference);
const baseline = featureBaselines(
  ref.map((x) => ({ x })),
  { features: [{ name: "x", type: "numeric" }], classes: ["a", "b"], label: "y" },
  1,
)[0] as NumericBaseline;

function tailsOf(values: readonly number[]): TailMeans {
  const mean = (xs: number[]) => (xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  return { low: mean(values.filter((v) => v < baseline.edges[0]!)), high: mean(values.filter((v) => v >= baseline.edges.at(-1)!)) };
}

/** Our figure from the baseline's bins, as detectDataDrift computes it from the stored bin counts. */
function binned(cur: readonly number[], tails?: BinnedRange["tails"]): number {
  const counts = new Array<number>(baseline.counts.length).fill(0);
  for (const v of cur) counts[binIndex(v, baseline)]!++;
  const range = { min: Math.min(baseline.min, ...cur), max: Math.max(baseline.max, ...cur), refStd: baseline.std, ...(tails ? { tails } : {}) };
  return wassersteinBinned(baseline.edges, baseline.counts, counts, range);
}

describe("binned Wasserstein's outer bins, against scipy", () => {
  for (const c of fixture.cases) {
    const cur = draw(c.current);
    it(`${c.name}: within 5% of scipy with the outer bins' means`, () => {
      const exact = binned(cur, { reference: tailsOf(ref), current: tailsOf(cur) });
      expect(Math.abs(exact / c.wasserstein - 1)).toBeLessThan(0.05);
      // The reference's outer means from the baseline's 2,000-value sample, as detectDataDrift has them.
      const sampled = binned(cur, { reference: sampleTailMeans(baseline), current: tailsOf(cur) });
      expect(Math.abs(sampled / c.wasserstein - 1)).toBeLessThan(0.05);
    });
  }

  it("uniform outer bins overstate a grown spread by more than 5% (the error the means remove)", () => {
    const spread = fixture.cases.find((c) => c.name === "spread 1.5x")!;
    expect(binned(draw(spread.current)) / spread.wasserstein - 1).toBeGreaterThan(0.05);
  });

  it("falls back to uniform outer bins when one side's means are unknown", () => {
    const cur = draw(fixture.cases[0]!.current);
    expect(binned(cur, { reference: tailsOf(ref), current: { low: null, high: null } })).toBe(binned(cur));
  });
});
