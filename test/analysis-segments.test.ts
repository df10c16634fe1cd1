import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnknownFeatureError } from "../analysis/index.ts";
import { findFailingSegments } from "../analysis/segments.ts";
import { getSegmentPerformance } from "../analysis/segment-performance.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import type { ModelVersion } from "../models/registry.ts";
import type { Row } from "../models/schema.ts";
import { wilsonInterval } from "../stats/index.ts";
import { registerTrained } from "./helpers/models.ts";
import { labelNames, seedPredictions, type SeededPredictions } from "./helpers/seed-store.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

const HOUR = 3600e6;
let t: TempStore;
let v: ModelVersion;
let reference: SeededPredictions;
let current: SeededPredictions;
const nowUs = Date.now() * 1000;
const referenceWindow = { fromUs: nowUs - 2 * HOUR, toUs: nowUs - HOUR };
const currentWindow = { fromUs: nowUs - HOUR, toUs: nowUs };

/** Concept drift confined to one segment: half of the east region's current labels flipped. */
function flipEast(rows: readonly Row[], labels: string[]): string[] {
  return labels.map((l, i) => (rows[i]!.region === "east" && i % 2 === 0 ? (l === "yes" ? "no" : "yes") : l));
}

async function seedBoth(model: string, version: ModelVersion, logFeatures: "raw" | "hash"): Promise<[SeededPredictions, SeededPredictions]> {
  const ref = generateCredit(3000, 11);
  const cur = generateCredit(3000, 12);
  const curRows = cur.examples.map((e) => e.row);
  const common = { model, version: version.version, schema: version.schema, stepUs: HOUR / 3000, logFeatures };
  return [
    await seedPredictions(t.store, { ...common, rows: ref.examples.map((e) => e.row), labels: labelNames(ref), startUs: referenceWindow.fromUs, requestIdPrefix: `${model}-ref-` }),
    await seedPredictions(t.store, { ...common, rows: curRows, labels: flipEast(curRows, labelNames(cur)), startUs: currentWindow.fromUs, requestIdPrefix: `${model}-cur-` }),
  ];
}

/** Labelled and wrong rows of a seeded window where `inSegment` holds, computed from what was seeded. */
function tally(s: SeededPredictions, inSegment: (row: Row) => boolean): { labelled: number; wrong: number } {
  let labelled = 0;
  let wrong = 0;
  s.rows.forEach((row, i) => {
    const label = s.labels[i];
    if (!inSegment(row) || label === null || label === undefined || s.predicted[i] === null) return;
    labelled++;
    if (label !== s.predicted[i]) wrong++;
  });
  return { labelled, wrong };
}

beforeAll(async () => {
  t = await tempStore();
  v = await registerTrained(t.store, t.config.modelDir, { model: "credit" });
  [reference, current] = await seedBoth("credit", v, "raw");
}, 120_000);

afterAll(async () => {
  await t?.cleanup();
});

describe("findFailingSegments", () => {
  it("puts the segment whose error rate rose first, with the seeded counts and a corrected test", async () => {
    const r = await findFailingSegments(t.store, { model: "credit", window: currentWindow });
    expect(r.reference).toEqual({ kind: "window", window: expect.objectContaining(referenceWindow) });
    const top = r.segments[0]!;
    expect(top.label).toBe("region = east");
    expect(top.significant).toBe(true);
    const east = (row: Row) => row.region === "east";
    expect({ labelled: top.current.labelled, wrong: top.current.errors }).toEqual(tally(current, east));
    expect({ labelled: top.reference.labelled, wrong: top.reference.errors }).toEqual(tally(reference, east));
    expect(top.rise).toBeCloseTo(top.current.errorRate! - top.reference.errorRate!, 12);
    expect(top.current.interval).toEqual(wilsonInterval(top.current.errors, top.current.labelled));
    expect(top.test).toBe("z-test");
    expect(top.adjustedPValue).toBeGreaterThanOrEqual(top.pValue);
    expect(top.adjustedPValue).toBeLessThan(1e-6);
    expect(r.features[0]!.feature).toBe("region");
    // The other regions kept their concept: none of them rose significantly.
    const otherRegions = r.segments.filter((s) => s.feature === "region" && s.value !== "east");
    expect(otherRegions.every((s) => !s.significant)).toBe(true);
    expect(r.overall.current.labelled).toBe(current.labelled);
    expect(r.overall.reference.labelled).toBe(reference.labelled);
  });

  it("says the rise is confined to the top segment: outside it no segment failed", async () => {
    const r = await findFailingSegments(t.store, { model: "credit", window: currentWindow });
    // East rows lift segments of every other feature too...
    expect(r.segments.filter((s) => s.significant && s.feature !== "region").length).toBeGreaterThan(0);
    // ...which the rows outside the east region show to be its shadow.
    expect(r.outsideTop!.excluding).toBe("region = east");
    const notEast = (row: Row) => row.region !== "east";
    expect(r.outsideTop!.overall.current.labelled).toBe(tally(current, notEast).labelled);
    expect(r.outsideTop!.significantSegments).toBe(0);
  });

  it("compares with the held-out error rate when asked (against: baseline)", async () => {
    const r = await findFailingSegments(t.store, { model: "credit", window: currentWindow, against: "baseline", features: ["region"] });
    expect(r.reference.kind).toBe("baseline");
    expect(r.segments[0]!.label).toBe("region = east");
    expect(r.segments.every((s) => s.feature === "region")).toBe(true);
  });

  it("works on bins alone when features were logged as hashes (MLWATCH_LOG_FEATURES=hash)", async () => {
    const hashed = await registerTrained(t.store, t.config.modelDir, { model: "private" });
    await seedBoth("private", hashed, "hash");
    const raw = await findFailingSegments(t.store, { model: "credit", window: currentWindow });
    const r = await findFailingSegments(t.store, { model: "private", window: currentWindow });
    expect(r.segments[0]!.label).toBe("region = east");
    expect(r.segments.map((s) => [s.label, s.current.errors, s.reference.errors])).toEqual(raw.segments.map((s) => [s.label, s.current.errors, s.reference.errors]));
  });

  it("returns an empty result for an empty window instead of throwing", async () => {
    const r = await findFailingSegments(t.store, { model: "credit", window: { fromUs: nowUs - 100 * HOUR, toUs: nowUs - 99 * HOUR } });
    expect(r.segments).toEqual([]);
    expect(r.tested).toBe(0);
    expect(r.overall.current.labelled).toBe(0);
    expect(r.notes.join(" ")).toMatch(/no labelled predictions/);
  });

  it("refuses an unknown feature naming the known ones", async () => {
    await expect(findFailingSegments(t.store, { model: "credit", features: ["zip_code"] })).rejects.toThrow(UnknownFeatureError);
    await expect(findFailingSegments(t.store, { model: "credit", features: ["zip_code"] })).rejects.toThrow(/known features: age, income/);
  });
});

describe("getSegmentPerformance", () => {
  it("gives accuracy and positive rate per category with Wilson intervals, from the seeded rows", async () => {
    const r = await getSegmentPerformance(t.store, { model: "credit", feature: "region", window: referenceWindow });
    expect(r.positiveClass).toBe("yes");
    for (const region of ["north", "south", "east", "west"]) {
      const seg = r.segments.find((s) => s.value === region)!;
      const rows = reference.rows.map((row, i) => ({ row, i })).filter(({ row }) => row.region === region);
      const positive = rows.filter(({ i }) => reference.predicted[i] === "yes").length;
      const { labelled, wrong } = tally(reference, (row) => row.region === region);
      expect(seg.answered).toBe(rows.length);
      expect(seg.positiveRate).toEqual({ count: positive, of: rows.length, rate: positive / rows.length, interval: wilsonInterval(positive, rows.length) });
      expect(seg.accuracy.count).toBe(labelled - wrong);
      expect(seg.accuracy.interval).toEqual(wilsonInterval(labelled - wrong, labelled));
    }
    expect(r.overall.answered).toBe(reference.answered);
    expect(r.disparity.compared.accuracy).toBe(4);
    expect(r.disparity.positiveRateRatio).toBeGreaterThan(0);
    expect(r.disparity.positiveRateRatio).toBeLessThanOrEqual(1);
  });

  it("finds the east region's accuracy gap in the drifted window", async () => {
    const r = await getSegmentPerformance(t.store, { model: "credit", feature: "region", window: currentWindow });
    const east = r.segments.find((s) => s.value === "east")!;
    const others = r.segments.filter((s) => s.kind === "category" && s.value !== "east");
    expect(others.every((s) => s.accuracy.interval!.lower > east.accuracy.interval!.upper)).toBe(true);
    expect(r.disparity.accuracyPValue).toBeLessThan(1e-6);
  });

  it("segments a numeric feature by reference quantile ranges", async () => {
    const r = await getSegmentPerformance(t.store, { model: "credit", feature: "age", window: referenceWindow });
    const ranges = r.segments.filter((s) => s.kind === "range");
    expect(ranges.length).toBeGreaterThanOrEqual(3);
    expect(ranges.reduce((a, s) => a + s.answered, 0) + r.segments.find((s) => s.kind === "missing")!.answered).toBe(reference.answered);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.from).toBe(ranges[i - 1]!.to);
  });

  it("returns empty figures for an empty window and refuses an unknown feature or class", async () => {
    const r = await getSegmentPerformance(t.store, { model: "credit", feature: "region", window: { fromUs: 1e15, toUs: 1e15 + HOUR } });
    expect(r.overall.answered).toBe(0);
    expect(r.segments.every((s) => s.answered === 0 && s.accuracy.rate === null)).toBe(true);
    await expect(getSegmentPerformance(t.store, { model: "credit", feature: "zip" })).rejects.toThrow(/unknown feature 'zip'/);
    await expect(getSegmentPerformance(t.store, { model: "credit", feature: "region", positiveClass: "maybe" })).rejects.toThrow(/classes: no, yes/);
  });
});
