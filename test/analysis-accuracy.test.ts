import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getAccuracy } from "../analysis/index.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import { wilsonInterval } from "../stats/index.ts";
import { labelNames, seedDriftScenario, seedPredictions, tsPredictor, type DriftScenario, type SeededPredictions } from "./helpers/seed-store.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

let t: TempStore;
let sc: DriftScenario;
let partial: SeededPredictions;
const HOUR = 3600e6;
let partialWindow: { fromUs: number; toUs: number };

beforeAll(async () => {
  t = await tempStore();
  sc = await seedDriftScenario(t.store, t.config.modelDir);
  // A window where only every third row has a label yet.
  const data = generateCredit(900, 201);
  const names = labelNames(data);
  partialWindow = { fromUs: sc.windows.baseline.fromUs - 3 * HOUR, toUs: sc.windows.baseline.fromUs - 2 * HOUR };
  partial = await seedPredictions(t.store, {
    model: sc.model,
    version: sc.v1.version,
    schema: sc.v1.schema,
    baseline: sc.trained.v1.baseline,
    predict: tsPredictor(sc.trained.v1.weights, sc.v1.schema, sc.trained.v1.baseline),
    rows: data.examples.map((e) => e.row),
    labels: names.map((l, i) => (i % 3 === 0 ? l : null)),
    startUs: partialWindow.fromUs,
    stepUs: 4e6,
    requestIdPrefix: "partial-",
  });
}, 120_000);

afterAll(async () => {
  await t?.cleanup();
});

/** Confusion matrix (rows true, columns predicted) computed from what was seeded, not from the store. */
function expectedConfusion(seeds: SeededPredictions[], classes: string[]): number[][] {
  const m = classes.map(() => classes.map(() => 0));
  for (const s of seeds) {
    s.predicted.forEach((p, i) => {
      const l = s.labels[i];
      if (p !== null && l !== null && l !== undefined) m[classes.indexOf(l)]![classes.indexOf(p)]!++;
    });
  }
  return m;
}

describe("getAccuracy", () => {
  it("counts exactly what was seeded: predictions, errors, labelled, correct, coverage and the Wilson interval", async () => {
    const r = await getAccuracy(t.store, { model: sc.model, window: sc.windows.baseline });
    const s = sc.seeded.baseline;
    expect(r.predictions).toBe(s.answered);
    expect(r.errors).toBe(s.errors);
    expect(s.errors).toBe(30);
    expect(r.labelled).toBe(s.labelled);
    expect(r.correct).toBe(s.correct);
    expect(r.labelCoverage).toBe(1);
    expect(r.accuracy).toBe(s.correct / s.labelled);
    expect(r.interval).toEqual(wilsonInterval(s.correct, s.labelled));
    expect(r.confusion).toEqual(expectedConfusion([s], r.classes));
  });

  it("derives per-class precision, recall and F1 and macro-F1 from the confusion matrix", async () => {
    const r = await getAccuracy(t.store, { model: sc.model, window: sc.windows.baseline });
    const m = expectedConfusion([sc.seeded.baseline], r.classes);
    r.classes.forEach((c, k) => {
      const tp = m[k]![k]!;
      const predicted = m.reduce((a, row) => a + row[k]!, 0);
      const actual = m[k]!.reduce((a, b) => a + b, 0);
      const pc = r.perClass[k]!;
      expect(pc.class).toBe(c);
      expect(pc.precision).toBeCloseTo(tp / predicted, 12);
      expect(pc.recall).toBeCloseTo(tp / actual, 12);
      expect(pc.support).toBe(actual);
    });
    expect(r.macroF1).toBeCloseTo(r.perClass.reduce((a, p) => a + p.f1, 0) / r.perClass.length, 12);
  });

  it("reports label coverage when only some predictions are labelled", async () => {
    const r = await getAccuracy(t.store, { model: sc.model, window: partialWindow });
    expect(r.predictions).toBe(900);
    expect(r.labelled).toBe(300);
    expect(partial.labelled).toBe(300);
    expect(r.labelCoverage).toBeCloseTo(1 / 3, 12);
    expect(r.correct).toBe(partial.correct);
    // CBPE uses every answered row, labelled or not.
    expect(r.estimated?.rows).toBe(900);
  });

  it("estimates accuracy without labels (CBPE) within a few points of the realized accuracy on undrifted traffic", async () => {
    const r = await getAccuracy(t.store, { model: sc.model, window: sc.windows.baseline });
    expect(r.estimated).not.toBeNull();
    expect(Math.abs(r.estimated!.accuracy - r.accuracy!)).toBeLessThan(0.03);
    expect(r.estimated!.lower).toBeLessThanOrEqual(r.estimated!.accuracy);
    expect(r.estimated!.upper).toBeGreaterThanOrEqual(r.estimated!.accuracy);
  });

  it("shows the fall in realized accuracy on the drifted window, and leaves shadow rows out", async () => {
    const before = await getAccuracy(t.store, { model: sc.model, window: sc.windows.baseline });
    const after = await getAccuracy(t.store, { model: sc.model, window: sc.windows.drifted });
    expect(after.predictions).toBe(sc.seeded.drifted.answered);
    expect(after.byVersion.map((v) => v.version)).toEqual([sc.v1.version]);
    expect(after.correct).toBe(sc.seeded.drifted.correct);
    expect(after.accuracy!).toBeLessThan(before.accuracy! - 0.03);
  });

  it("splits by version (primary and canary) with per-version counts and the same totals", async () => {
    const r = await getAccuracy(t.store, { model: sc.model, window: sc.windows.canary });
    const [a, b] = [sc.seeded.canaryV1, sc.seeded.canaryV2];
    expect(r.byVersion.map((v) => [v.version, v.predictions, v.correct])).toEqual([
      [sc.v1.version, a.answered, a.correct],
      [sc.v2.version, b.answered, b.correct],
    ]);
    expect(r.correct).toBe(a.correct + b.correct);
    expect(r.confusion).toEqual(expectedConfusion([a, b], r.classes));
    const onlyB = await getAccuracy(t.store, { model: sc.model, version: sc.v2.version, window: sc.windows.canary });
    expect(onlyB.predictions).toBe(b.answered);
    expect(onlyB.byVersion).toHaveLength(1);
  });

  it("gives a trend whose buckets add up to the totals", async () => {
    const r = await getAccuracy(t.store, { model: sc.model, window: sc.windows.baseline, bucketSeconds: 600 });
    expect(r.bucketSeconds).toBe(600);
    expect(r.trend.length).toBeGreaterThanOrEqual(6);
    expect(r.trend.reduce((a, b) => a + b.predictions, 0)).toBe(r.predictions);
    expect(r.trend.reduce((a, b) => a + b.correct, 0)).toBe(r.correct);
    expect(r.trend.reduce((a, b) => a + b.errors, 0)).toBe(r.errors);
    for (const b of r.trend) if (b.predictions > 0) expect(b.estimated).not.toBeNull();
  });

  it("counts a retried prediction once and lets the latest label win", async () => {
    // A labelled row whose prediction was right.
    const i = partial.labels.findIndex((l, k) => l !== null && l === partial.predicted[k]);
    const id = partial.requestIds[i]!;
    const before = await getAccuracy(t.store, { model: sc.model, window: partialWindow });
    const wrong = sc.v1.schema.classes.find((c) => c !== partial.predicted[i])!;
    // The same row logged twice (a retried request), then a corrected label that now says the prediction was wrong.
    const [row] = await t.store.rows<Record<string, unknown>>(
      `SELECT * EXCEPT ts, toUnixTimestamp64Micro(ts) AS ts FROM ${t.store.table("predictions")} FINAL WHERE request_id = {id:String}`,
      { id },
    );
    await t.store.insert("predictions", [row!]);
    await t.store.insert("labels", [{ request_id: id, model: sc.model, label: wrong, label_ts: Date.now() * 1000 }]);
    const after = await getAccuracy(t.store, { model: sc.model, window: partialWindow });
    expect(after.predictions).toBe(before.predictions);
    expect(after.labelled).toBe(before.labelled);
    expect(after.correct).toBe(before.correct - 1);
  });

  it("answers a window without traffic with zeros and a note, and an unknown version with the known ones", async () => {
    const r = await getAccuracy(t.store, { model: sc.model, window: { fromUs: 1_000_000, toUs: 2_000_000 } });
    expect(r.predictions).toBe(0);
    expect(r.accuracy).toBeNull();
    expect(r.estimated).toBeNull();
    expect(r.notes.join(" ")).toMatch(/no served predictions/);
    await expect(getAccuracy(t.store, { model: sc.model, version: "99" })).rejects.toThrow(/unknown version '99'.*known: 1, 2/);
    await expect(getAccuracy(t.store, { model: "nope" })).rejects.toThrow(/unknown model 'nope'/);
  });
});
