import { describe, expect, it } from "vitest";
import {
  binIndex,
  binRow,
  CALIBRATION_SIZE,
  computeBaseline,
  featureBaselines,
  imputationFill,
  MISSING_BIN,
  type CategoricalBaseline,
  type NumericBaseline,
} from "../models/baseline.ts";
import { creditSchema, generateCredit } from "../models/datasets/credit.ts";
import type { Row } from "../models/schema.ts";
import { trainModel } from "../models/train.ts";

const numeric: NumericBaseline = {
  name: "x",
  type: "numeric",
  count: 0,
  missing: 0,
  mean: 0,
  std: 0,
  min: 0,
  max: 0,
  edges: [1, 2, 5],
  counts: [0, 0, 0, 0],
  sample: [],
};
const categorical: CategoricalBaseline = { name: "c", type: "categorical", count: 0, missing: 0, categories: ["a", "b"], counts: [0, 0, 0] };

describe("binIndex", () => {
  it("puts a value v in bin i when edges[i-1] <= v < edges[i]", () => {
    expect(binIndex(-10, numeric)).toBe(0);
    expect(binIndex(0.999, numeric)).toBe(0);
    expect(binIndex(1, numeric)).toBe(1);
    expect(binIndex(1.5, numeric)).toBe(1);
    expect(binIndex(2, numeric)).toBe(2);
    expect(binIndex(5, numeric)).toBe(3);
    expect(binIndex(1e9, numeric)).toBe(3);
  });

  it("sends missing and non-numeric values to MISSING_BIN", () => {
    expect(binIndex(null, numeric)).toBe(MISSING_BIN);
    expect(binIndex(Number.NaN, numeric)).toBe(MISSING_BIN);
    expect(binIndex(undefined, numeric)).toBe(MISSING_BIN);
    expect(binIndex("3", numeric)).toBe(MISSING_BIN);
    expect(binIndex(null, categorical)).toBe(MISSING_BIN);
  });

  it("indexes categories and gives unseen ones the last slot", () => {
    expect(binIndex("a", categorical)).toBe(0);
    expect(binIndex("b", categorical)).toBe(1);
    expect(binIndex("zebra", categorical)).toBe(2);
  });
});

describe("featureBaselines", () => {
  const rows = generateCredit(8000, 11).examples.map((e) => e.row);
  const features = featureBaselines(rows, creditSchema, 11);

  it("counts every present value once, in the bin binIndex gives it", () => {
    for (const f of features) {
      expect(f.count).toBe(rows.length);
      expect(f.counts.reduce((a, b) => a + b, 0)).toBe(f.count - f.missing);
      const recount = new Array<number>(f.counts.length).fill(0);
      for (const row of rows) {
        const bin = binIndex(row[f.name], f);
        if (bin !== MISSING_BIN) recount[bin]!++;
      }
      expect(recount).toEqual(f.counts);
    }
    const income = features.find((f) => f.name === "income")!;
    expect(income.missing).toBeGreaterThan(0);
  });

  it("places numeric edges at strictly increasing percentiles", () => {
    const income = features.find((f) => f.name === "income") as NumericBaseline;
    expect(income.edges.length).toBeGreaterThan(90);
    expect(income.edges.length).toBeLessThanOrEqual(99);
    for (let i = 1; i < income.edges.length; i++) expect(income.edges[i]!).toBeGreaterThan(income.edges[i - 1]!);
    const present = income.count - income.missing;
    expect(income.counts[0]! / present).toBeCloseTo(0.01, 2);
    expect(income.counts[income.counts.length - 1]! / present).toBeCloseTo(0.01, 2);
    expect(income.min).toBeLessThan(income.edges[0]!);
    expect(income.sample).toHaveLength(2000);
    // A discrete feature collapses to few edges rather than 99 duplicates.
    const late = features.find((f) => f.name === "late_payments") as NumericBaseline;
    expect(late.edges.length).toBeLessThan(10);
  });

  it("samples deterministically per seed", () => {
    const again = featureBaselines(rows, creditSchema, 11);
    const other = featureBaselines(rows, creditSchema, 12);
    expect(again).toEqual(features);
    expect((other[1] as NumericBaseline).sample).not.toEqual((features[1] as NumericBaseline).sample);
  });

  it("gives binRow the bins of binIndex in feature order, and imputationFill the means", () => {
    const baseline = computeBaseline(features, { proba: new Float32Array(0), labels: [], classes: 2 }, 1);
    const row: Row = { ...rows[0]!, region: "atlantis", income: null };
    expect(binRow(row, baseline)).toEqual(features.map((f) => binIndex(row[f.name], f)));
    expect(binRow(row, baseline)[6]).toBe(4);
    expect(binRow(row, baseline)[1]).toBe(MISSING_BIN);
    expect(imputationFill(features, creditSchema)).toEqual(features.filter((f) => f.type === "numeric").map((f) => (f as NumericBaseline).mean));
  });
});

describe("computeBaseline", () => {
  it("summarises the held-out predictions", () => {
    const trained = trainModel({ dataset: generateCredit(30_000, 2), kind: "logistic", seed: 2, epochs: 2 });
    const b = trained.baseline;
    const test = trained.metrics.testRows;
    expect(b.size).toBe(trained.metrics.trainRows);
    expect(b.predictionCounts.reduce((a, c) => a + c, 0)).toBe(test);
    expect(b.labelCounts.reduce((a, c) => a + c, 0)).toBe(test);
    expect(b.accuracy).toBe(trained.metrics.accuracy);
    expect(b.confidenceEdges).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
    expect(b.confidenceCounts.reduce((a, c) => a + c, 0)).toBe(test);
    // Two classes: the top probability is never below one half.
    expect(b.confidenceCounts.slice(0, 4)).toEqual([0, 0, 0, 0]);
    expect(b.calibration.confidence).toHaveLength(CALIBRATION_SIZE);
    expect(b.calibration.correct).toHaveLength(CALIBRATION_SIZE);
    const sampledAccuracy = b.calibration.correct.reduce((a, c) => a + c, 0) / CALIBRATION_SIZE;
    expect(sampledAccuracy).toBeCloseTo(b.accuracy, 1);
  });
});
