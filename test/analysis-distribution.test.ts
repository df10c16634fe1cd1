import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { featureDistribution, type Share } from "../analysis/index.ts";
import { seedDriftScenario, type DriftScenario } from "./helpers/seed-store.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

let t: TempStore;
let sc: DriftScenario;

beforeAll(async () => {
  t = await tempStore();
  sc = await seedDriftScenario(t.store, t.config.modelDir);
}, 120_000);

afterAll(async () => {
  await t?.cleanup();
});

const total = (shares: Share[], side: "reference" | "current") => shares.reduce((a, s) => a + s[side], 0);

describe("featureDistribution", () => {
  it("numeric: ~10 merged bins whose shares, with missing, sum to 1 on both sides", async () => {
    const r = await featureDistribution(t.store, { model: sc.model, feature: "income", window: sc.windows.drifted });
    expect(r.type).toBe("numeric");
    expect(r.rows).toBe(3000);
    expect(r.bins!.length).toBeGreaterThanOrEqual(8);
    expect(r.bins!.length).toBeLessThanOrEqual(10);
    expect(total([...r.bins!, r.missing], "current")).toBeCloseTo(1, 12);
    expect(total([...r.bins!, r.missing], "reference")).toBeCloseTo(1, 12);
    expect(r.bins!.reduce((a, b) => a + b.currentCount, 0) + r.missing.currentCount).toBe(3000);
    // Bins are contiguous value ranges, each holding about a tenth of the reference.
    for (let i = 1; i < r.bins!.length; i++) expect(r.bins![i]!.from).toBe(r.bins![i - 1]!.to);
    for (const b of r.bins!) expect(b.reference).toBeLessThan(0.2);
    // The shift shows: the top reference decile holds far more than a tenth of current rows.
    expect(r.bins![r.bins!.length - 1]!.current).toBeGreaterThan(0.4);
  });

  it("numeric: current statistics over the raw values match the seeded rows", async () => {
    const r = await featureDistribution(t.store, { model: sc.model, feature: "income", window: sc.windows.drifted });
    const values = sc.seeded.drifted.rows.map((row) => row.income).filter((v): v is number => typeof v === "number");
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(r.rawValues).toBe(true);
    expect(r.missing.currentCount).toBe(3000 - values.length);
    expect(r.stats!.current!.mean).toBeCloseTo(mean, 6);
    expect(r.stats!.current!.min).toBe(Math.min(...values));
    expect(r.stats!.current!.max).toBe(Math.max(...values));
    const q = r.stats!.current!.quantiles;
    expect(q.p1).toBeLessThanOrEqual(q.p50);
    expect(q.p50).toBeLessThanOrEqual(q.p99);
    const reference = sc.trained.v1.baseline.features.find((f) => f.name === "income");
    expect(reference?.type === "numeric" && r.stats!.reference.mean === reference.mean).toBe(true);
    expect(r.stats!.reference.quantilesFrom).toMatch(/sample/);
  });

  it("categorical: every category plus unknown plus missing, summing to 1", async () => {
    const r = await featureDistribution(t.store, { model: sc.model, feature: "region", window: sc.windows.baseline });
    expect(r.categories!.map((c) => c.value)).toEqual(["north", "south", "east", "west"]);
    expect(total([...r.categories!, r.unknown!, r.missing], "current")).toBeCloseTo(1, 12);
    expect(total([...r.categories!, r.unknown!, r.missing], "reference")).toBeCloseTo(1, 12);
    const east = sc.seeded.baseline.rows.filter((row) => row.region === "east").length;
    expect(r.categories!.find((c) => c.value === "east")!.currentCount).toBe(east);
    expect(r.unknown!.values).toEqual([]);
  });

  it("names the known features when asked for an unknown one", async () => {
    await expect(featureDistribution(t.store, { model: sc.model, feature: "salary" })).rejects.toThrow(
      /unknown feature 'salary' for model 'credit' version \d+; known features: age, income, debt_ratio, credit_lines, late_payments, employment, region, loan_purpose/,
    );
  });
});
