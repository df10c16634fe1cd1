import { describe, expect, it } from "vitest";
import { fisherExactGreater } from "../stats/fisher.ts";
import { rateRiseTest } from "../stats/rise-test.ts";
import { additiveShapley, enumeratedShapley, permutationShapley, permutationWalks, walkStepMask } from "../stats/shapley.ts";

/** Seeded uniform stream (mulberry32), so the tests do not depend on models/. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A game on 3 "features": x = (1, 2, 3), backgrounds b; f(z) = z0·z1 + 2·z2. */
const x = [1, 2, 3];
const backgrounds = [
  [0, 0, 0],
  [2, 1, 1],
];
const f = (z: number[]) => z[0]! * z[1]! + 2 * z[2]!;
const mix = (b: number[], fromX: (i: number) => boolean) => b.map((v, i) => (fromX(i) ? x[i]! : v));

describe("enumeratedShapley", () => {
  it("gives the textbook values of an interaction game: the product's gain split equally", () => {
    const values: number[] = [];
    for (let mask = 0; mask < 8; mask++) for (const b of backgrounds) values.push(f(mix(b, (i) => (mask & (1 << i)) !== 0)));
    const e = enumeratedShapley(3, 2, values);
    // Background (0,0,0): φ0 = φ1 = (1·2)/2 = 1, φ2 = 6. Background (2,1,1): v = 4 → 8; φ2 = 4,
    // φ0 = ½[(1·1 − 2·1) + (1·2 − 2·2)] = −1.5, φ1 = ½[(2·2 − 2·1) + (1·2 − 1·1)] = 1.5.
    expect(e.values[0]).toBeCloseTo((1 - 1.5) / 2, 12);
    expect(e.values[1]).toBeCloseTo((1 + 1.5) / 2, 12);
    expect(e.values[2]).toBeCloseTo((6 + 4) / 2, 12);
    expect(e.base).toBeCloseTo((0 + 4) / 2, 12);
    expect(e.base + e.values.reduce((a, b) => a + b, 0)).toBeCloseTo(f(x), 12);
  });
});

describe("permutationShapley", () => {
  it("is exactly additive and converges to the enumerated values", () => {
    const walks = permutationWalks(3, 2, 2000, random(7));
    const values = walks.flatMap((w) => Array.from({ length: 4 }, (_, s) => f(mix(backgrounds[w.background]!, (i) => walkStepMask(w, s, 3)[i]!))));
    const e = permutationShapley(walks, 3, values);
    expect(e.base + e.values.reduce((a, b) => a + b, 0)).toBeCloseTo(f(x), 12);
    expect(e.values[0]).toBeCloseTo(-0.25, 1);
    expect(e.values[1]).toBeCloseTo(1.25, 1);
    expect(e.values[2]).toBeCloseTo(5, 12);
    e.standardErrors.forEach((se) => expect(se).toBeLessThan(0.05));
    // The additive part has no sampling error.
    expect(e.standardErrors[2]).toBeCloseTo(0, 12);
  });

  it("uses every background row equally and pairs each order with its reverse", () => {
    const walks = permutationWalks(4, 3, 2, random(1));
    expect(walks).toHaveLength(12);
    expect(walks.filter((w) => w.background === 1)).toHaveLength(4);
    expect([...walks[1]!.order]).toEqual([...walks[0]!.order].reverse());
    expect(() => permutationShapley(walks.slice(1), 4, new Array(11 * 5).fill(0))).toThrow(/antithetic pairs/);
  });
});

describe("additiveShapley", () => {
  it("equals the enumerated values on an additive function, w_i·(x_i − E[b_i])", () => {
    const g = (z: number[]) => 3 * z[0]! - z[1]! + 0.5 * z[2]!;
    const values = [...backgrounds.map(g), ...[0, 1, 2].flatMap((i) => backgrounds.map((b) => g(mix(b, (j) => j === i))))];
    const e = additiveShapley(3, 2, values);
    expect(e.values).toEqual([3 * (1 - 1), -(2 - 0.5), 0.5 * (3 - 0.5)].map((v) => expect.closeTo(v, 12)));
  });
});

describe("fisherExactGreater", () => {
  it("matches scipy.stats.fisher_exact(alternative='greater') (scipy 1.17.1)", () => {
    const cases: [number, number, number, number, number][] = [
      [3, 4, 1, 4, 0.24285714285714283],
      [7, 12, 2, 15, 0.019374523264683453],
      [0, 5, 3, 5, 1.0],
      [20, 40, 5, 60, 3.3849232256730086e-6],
      [1, 1, 0, 30, 0.03225806451612904],
    ];
    for (const [s1, n1, s2, n2, p] of cases) expect(fisherExactGreater(s1, n1, s2, n2)).toBeCloseTo(p, 12);
  });

  it("rejects impossible counts", () => {
    expect(() => fisherExactGreater(5, 4, 0, 1)).toThrow(/0 ≤ successes ≤ trials/);
  });
});

describe("rateRiseTest", () => {
  it("is the one-sided pooled z-test on large counts (scipy norm.sf of the pooled z)", () => {
    expect(rateRiseTest(40, 200, 20, 200)).toEqual({ test: "z-test", pValue: expect.closeTo(0.0025506998230024913, 12) });
    expect(rateRiseTest(20, 200, 40, 200).pValue).toBeCloseTo(0.9974493001769975, 12);
  });

  it("switches to Fisher's exact test when an expected cell is under 5", () => {
    expect(rateRiseTest(7, 12, 2, 15)).toEqual({ test: "fisher-exact", pValue: expect.closeTo(0.019374523264683453, 12) });
  });
});
