import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectDataDrift } from "../analysis/index.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import { wassersteinSamples } from "../stats/index.ts";
import type { Row } from "../models/schema.ts";
import { seedDriftScenario, seedPredictions, tsPredictor, type DriftScenario } from "./helpers/seed-store.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

let t: TempStore;
let sc: DriftScenario;
const HOUR = 3600e6;
let brokenWindow: { fromUs: number; toUs: number };
let hashedWindow: { fromUs: number; toUs: number };
let missingIncome = 0;
let atlantis = 0;

beforeAll(async () => {
  t = await tempStore();
  sc = await seedDriftScenario(t.store, t.config.modelDir);
  const v1 = { model: sc.model, version: sc.v1.version, schema: sc.v1.schema, baseline: sc.trained.v1.baseline };
  const predict = tsPredictor(sc.trained.v1.weights, sc.v1.schema, sc.trained.v1.baseline);
  // An upstream fault: income goes missing on 30% of rows and a region nobody trained on appears.
  const rows: Row[] = generateCredit(1000, 301).examples.map((e, i) => {
    const row = { ...e.row };
    if (i % 10 < 3) row.income = null;
    if (i % 10 === 5) row.region = "atlantis";
    return row;
  });
  missingIncome = rows.filter((r) => r.income === null).length;
  atlantis = rows.filter((r) => r.region === "atlantis").length;
  brokenWindow = { fromUs: sc.windows.baseline.fromUs - 3 * HOUR, toUs: sc.windows.baseline.fromUs - 2 * HOUR };
  await seedPredictions(t.store, { ...v1, predict, rows, startUs: brokenWindow.fromUs, stepUs: 3e6, requestIdPrefix: "broken-" });
  // The same fault logged without raw values (MLWATCH_LOG_FEATURES=hash): bins only.
  hashedWindow = { fromUs: brokenWindow.fromUs - 2 * HOUR, toUs: brokenWindow.fromUs - HOUR };
  await seedPredictions(t.store, { ...v1, predict, rows, startUs: hashedWindow.fromUs, stepUs: 3e6, requestIdPrefix: "hashed-", logFeatures: "hash" });
}, 120_000);

afterAll(async () => {
  await t?.cleanup();
});

describe("detectDataDrift", () => {
  it("ranks the shifted feature first and calls it drifted, and only it", async () => {
    const r = await detectDataDrift(t.store, { model: sc.model, window: sc.windows.drifted });
    expect(r.version).toBe(sc.v1.version);
    expect(r.versionChosenBy).toBe("most primary traffic in the window");
    expect(r.rows).toBe(3000);
    const income = r.features[0]!;
    expect(income.feature).toBe(sc.driftedFeature);
    expect(income.drifted).toBe(true);
    expect(income.psiLevel).toBe("major");
    expect(income.meanShift?.inStd).toBeGreaterThan(1.6);
    expect(income.meanShift?.inStd).toBeLessThan(2.4);
    expect(r.features.slice(1).every((f) => !f.drifted && f.psi < income.psi)).toBe(true);
    expect(r.dataset).toMatchObject({ tested: 8, driftedCount: 1, driftedFeatures: ["income"], drifted: false });
    expect(r.features.map((f) => f.psi)).toEqual([...r.features.map((f) => f.psi)].sort((a, b) => b - a));
    // The window also has version 2's shadow rows; the report says it analysed one version.
    expect(r.notes.join(" ")).toMatch(/also holds rows of version 2/);
  });

  it("applies the default method rule to histograms: Wasserstein for numeric, Jensen-Shannon for categorical, above 1000 reference rows", async () => {
    const r = await detectDataDrift(t.store, { model: sc.model, window: sc.windows.drifted });
    const method = Object.fromEntries(r.features.map((f) => [f.feature, f.method]));
    expect(method.income).toBe("wasserstein");
    expect(method.region).toBe("jensenshannon");
    // late_payments is a small count: its percentile bins collapse to a handful of values.
    expect(method.late_payments).toBe("jensenshannon");
  });

  it("computes Wasserstein's outer bins from the logged raw values' means, and uniform ones from bins only", async () => {
    // The default selector picks Wasserstein for income (a forced method must fit every feature's type).
    const [raw, hashed] = await Promise.all([brokenWindow, hashedWindow].map((window) => detectDataDrift(t.store, { model: sc.model, window })));
    for (const r of [raw, hashed]) expect(r!.features.find((f) => f.feature === "income")!.method).toBe("wasserstein");
    const income = (r: typeof raw) => r!.features.find((f) => f.feature === "income")!.score!;
    const ref = sc.trained.v1.baseline.features.find((f) => f.name === "income");
    const present = generateCredit(1000, 301).examples.map((e) => e.row.income).filter((v, i): v is number => typeof v === "number" && i % 10 >= 3);
    // Unbinned, against the baseline's 2,000-value sample: noisy at these sizes, but the outer means bring the binned figure closer.
    const unbinned = wassersteinSamples(ref?.type === "numeric" ? ref.sample : [], present);
    expect(income(raw)).not.toBe(income(hashed));
    expect(Math.abs(income(raw) - unbinned)).toBeLessThan(Math.abs(income(hashed) - unbinned));
  });

  it("raises no false alarm on undrifted traffic", async () => {
    const r = await detectDataDrift(t.store, { model: sc.model, window: sc.windows.baseline });
    expect(r.dataset?.driftedCount).toBe(0);
    expect(r.dataset?.drifted).toBe(false);
    expect(r.features.every((f) => f.psiLevel === "none" && !f.missing.shifted)).toBe(true);
  });

  it("tests by p-value against a small reference window and corrects with Benjamini-Hochberg", async () => {
    // 900 undrifted rows as reference: at most 1000 reference rows selects KS and chi-square.
    const base = sc.windows.baseline;
    const reference = { fromUs: base.fromUs, toUs: base.fromUs + (base.toUs - base.fromUs) * 0.3 };
    const rest = { fromUs: reference.toUs, toUs: base.toUs };
    const quiet = await detectDataDrift(t.store, { model: sc.model, window: rest, reference });
    expect(quiet.reference).toMatchObject({ kind: "window", rows: 900 });
    expect(quiet.features.find((f) => f.feature === "income")?.method).toBe("ks");
    expect(quiet.features.find((f) => f.feature === "region")?.method).toBe("chisquare");
    expect(quiet.dataset).toMatchObject({ correction: "benjamini-hochberg", driftedCount: 0, drifted: false });

    const loud = await detectDataDrift(t.store, { model: sc.model, window: sc.windows.drifted, reference });
    const income = loud.features[0]!;
    expect(income.feature).toBe("income");
    expect(income.pValue!).toBeLessThan(1e-6);
    expect(income.adjustedPValue!).toBeLessThan(0.05);
    expect(income.drifted).toBe(true);

    const bonferroni = await detectDataDrift(t.store, { model: sc.model, window: rest, reference, correction: "bonferroni" });
    const tested = bonferroni.features.filter((f) => f.pValue !== null);
    for (const f of tested) expect(f.adjustedPValue).toBeCloseTo(Math.min(1, f.pValue! * tested.length), 12);
  });

  it("reports missing-value rates and unseen categories with their values", async () => {
    const r = await detectDataDrift(t.store, { model: sc.model, window: brokenWindow });
    const income = r.features.find((f) => f.feature === "income")!;
    expect(income.missing.current).toBeCloseTo(missingIncome / 1000, 12);
    expect(income.missing.reference).toBeLessThan(0.02);
    expect(income.missing.shifted).toBe(true);
    const region = r.features.find((f) => f.feature === "region")!;
    expect(region.unseen?.rows).toBe(atlantis);
    expect(region.unseen?.current).toBeCloseTo(atlantis / 1000, 12);
    expect(region.unseen?.values).toEqual([{ value: "atlantis", rows: atlantis }]);
    expect(r.summary).toMatch(/missing income/);
    expect(r.summary).toMatch(/unseen region values in \d+ rows e\.g\. 'atlantis'/);
    // Both moved most of all, so they rank first.
    expect(r.features.slice(0, 2).map((f) => f.feature).sort()).toEqual(["income", "region"]);
  });

  it("still finds both from the bins alone when raw values were not logged", async () => {
    const r = await detectDataDrift(t.store, { model: sc.model, window: hashedWindow });
    expect(r.rawFeatures).toBe(false);
    const income = r.features.find((f) => f.feature === "income")!;
    expect(income.missing.current).toBeCloseTo(missingIncome / 1000, 12);
    expect(income.meanShift).toBeNull();
    const region = r.features.find((f) => f.feature === "region")!;
    expect(region.unseen?.rows).toBe(atlantis);
    expect(region.unseen?.values).toBeNull();
    expect(r.notes.join(" ")).toMatch(/no raw feature values/);
  });

  it("compares prediction and label distributions with the baseline's", async () => {
    const r = await detectDataDrift(t.store, { model: sc.model, window: sc.windows.drifted });
    for (const d of [r.prediction!, r.label!]) {
      expect(Object.values(d.current).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      expect(Object.values(d.reference).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
    const yes = sc.seeded.drifted.predicted.filter((p) => p === "yes").length;
    expect(r.prediction!.current.yes).toBeCloseTo(yes / 3000, 12);
    expect(r.prediction!.rows.reference).toBe(sc.trained.v1.baseline.predictionCounts.reduce((a, b) => a + b, 0));
  });

  it("analyses the version asked for, against that version's own baseline", async () => {
    const v1 = await detectDataDrift(t.store, { model: sc.model, window: sc.windows.drifted });
    const v2 = await detectDataDrift(t.store, { model: sc.model, window: sc.windows.drifted, version: sc.v2.version });
    expect(v2.versionChosenBy).toBe("requested");
    expect(v2.rows).toBe(3000);
    // v2 was trained on the shifted population: income did not move relative to its baseline.
    const income2 = v2.features.find((f) => f.feature === "income")!;
    expect(income2.drifted).toBe(false);
    expect(income2.psi).toBeLessThan(v1.features[0]!.psi / 10);
  });

  it("fails clearly on an unknown model, version, correction or empty reference window", async () => {
    await expect(detectDataDrift(t.store, { model: "nope" })).rejects.toThrow(/unknown model 'nope'/);
    await expect(detectDataDrift(t.store, { model: sc.model, version: "7" })).rejects.toThrow(/unknown version '7'/);
    await expect(detectDataDrift(t.store, { model: sc.model, correction: "holm" as never })).rejects.toThrow(/unknown correction/);
    await expect(
      detectDataDrift(t.store, { model: sc.model, window: sc.windows.drifted, reference: { fromUs: 1_000_000, toUs: 2_000_000 } }),
    ).rejects.toThrow(/reference window .* has no rows/);
  });
});
