import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compareVersions } from "../analysis/index.ts";
import { mcnemar, twoProportionZTest } from "../stats/index.ts";
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

describe("compareVersions, window mode", () => {
  it("picks the better version with a significant two-proportion test on enough labelled rows", async () => {
    const r = await compareVersions(t.store, { model: sc.model, versionA: sc.v1.version, versionB: sc.v2.version, window: sc.windows.canary });
    const [a, b] = [sc.seeded.canaryV1, sc.seeded.canaryV2];
    expect([r.a.labelled, r.a.correct, r.b.labelled, r.b.correct]).toEqual([a.labelled, a.correct, b.labelled, b.correct]);
    const z = twoProportionZTest(b.correct, b.labelled, a.correct, a.labelled);
    expect(r.test).toMatchObject({ name: "two-proportion z-test", statistic: z.z, pValue: z.pValue });
    expect(r.test!.pValue).toBeLessThan(0.05);
    expect(r.test!.differencePts).toBeCloseTo((b.correct / b.labelled - a.correct / a.labelled) * 100, 10);
    expect(r.better).toBe(sc.betterVersion);
    expect(r.verdict).toMatch(/^B \(version 2\) is better: \+\d+\.\d pts .*p<0\.001$/);
  });

  it("is symmetric: swapping A and B names the same winner", async () => {
    const r = await compareVersions(t.store, { model: sc.model, versionA: sc.v2.version, versionB: sc.v1.version, window: sc.windows.canary });
    expect(r.better).toBe(sc.betterVersion);
    expect(r.verdict).toMatch(/^A \(version 2\) is better/);
    expect(r.test!.differencePts).toBeLessThan(0);
  });

  it("says there are not enough labelled rows on a short window instead of guessing", async () => {
    const w = sc.windows.canary;
    const short = { fromUs: w.fromUs, toUs: w.fromUs + (w.toUs - w.fromUs) / 150 };
    const r = await compareVersions(t.store, { model: sc.model, versionA: sc.v1.version, versionB: sc.v2.version, window: short });
    expect(r.test).toBeNull();
    expect(r.better).toBeNull();
    expect(r.verdict).toMatch(/^not enough labelled rows \(n=\d+;/);
    expect(Math.min(r.a.labelled, r.b.labelled)).toBeLessThan(30);
  });

  it("reports latency and error rate side by side", async () => {
    const r = await compareVersions(t.store, { model: sc.model, versionA: sc.v1.version, versionB: sc.v2.version, window: sc.windows.canary });
    expect(r.a.rows).toBe(1500);
    expect(r.b.rows).toBe(1500);
    expect(r.a.latencyMs!.p50).toBeGreaterThan(0);
    expect(r.a.latencyMs!.p99).toBeGreaterThanOrEqual(r.a.latencyMs!.p50);
    expect(r.a.errorRate).toBe(0);
  });

  it("points to shadow mode when version B only ran as a shadow in the window", async () => {
    const r = await compareVersions(t.store, { model: sc.model, versionA: sc.v1.version, versionB: sc.v2.version, window: sc.windows.drifted });
    expect(r.b.rows).toBe(0);
    expect(r.verdict).toMatch(/not enough labelled rows.*use mode 'shadow'/);
  });
});

describe("compareVersions, shadow mode", () => {
  it("pairs primary and shadow rows by request id: agreement and McNemar on paired correctness", async () => {
    const r = await compareVersions(t.store, { model: sc.model, versionA: sc.v1.version, versionB: sc.v2.version, window: sc.windows.drifted, mode: "shadow" });
    const p = sc.seeded.drifted;
    const s = sc.seeded.shadow;
    let agree = 0;
    let onlyA = 0;
    let onlyB = 0;
    p.predicted.forEach((pa, i) => {
      const pb = s.predicted[i];
      const label = p.labels[i];
      if (pa === pb) agree++;
      if (pa === label && pb !== label) onlyA++;
      if (pb === label && pa !== label) onlyB++;
    });
    expect(r.shadow).toMatchObject({ pairs: 3000, labelledPairs: 3000, onlyA, onlyB, bShadow: 3000 });
    expect(r.shadow!.agreement).toBeCloseTo(agree / 3000, 12);
    const m = mcnemar(onlyA, onlyB);
    expect(r.test).toMatchObject({ name: "McNemar", statistic: m.statistic, pValue: m.pValue });
    expect(r.better).toBe(sc.betterVersion);
    expect(r.a.accuracy).toBeCloseTo(p.correct / p.labelled, 12);
    expect(r.b.accuracy).toBeCloseTo(s.correct / s.labelled, 12);
    expect(r.verdict).toMatch(/is better.*agreement \d+\.\d% on 3000 paired requests/);
  });

  it("finds no pairs where the versions never scored the same requests", async () => {
    const r = await compareVersions(t.store, { model: sc.model, versionA: sc.v1.version, versionB: sc.v2.version, window: sc.windows.canary, mode: "shadow" });
    expect(r.shadow?.pairs).toBe(0);
    expect(r.better).toBeNull();
    expect(r.verdict).toMatch(/no requests scored by both/);
  });

  it("refuses to compare a version with itself or an unknown version", async () => {
    await expect(compareVersions(t.store, { model: sc.model, versionA: "1", versionB: "1" })).rejects.toThrow(/both '1'/);
    await expect(compareVersions(t.store, { model: sc.model, versionA: "1", versionB: "9" })).rejects.toThrow(/unknown version '9'/);
  });
});
