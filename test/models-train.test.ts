import { describe, expect, it } from "vitest";
import { imputationFill } from "../models/baseline.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import { generateHyperplane } from "../models/datasets/hyperplane.ts";
import { encodeRows } from "../models/encode.ts";
import { evaluate } from "../models/evaluate.ts";
import { predictProba } from "../models/predict.ts";
import type { Dataset } from "../models/schema.ts";
import { trainModel, type TrainResult } from "../models/train.ts";

/** Accuracy on data the model never saw, encoded the way serving does (fill from the baseline). */
function freshAccuracy(trained: TrainResult, fresh: Dataset): number {
  const rows = fresh.examples.map((e) => e.row);
  const x = encodeRows(rows, trained.schema, imputationFill(trained.baseline.features, trained.schema));
  return evaluate(predictProba(trained.weights, x, rows.length), fresh.examples.map((e) => e.label), fresh.schema.classes).accuracy;
}

describe("trainModel on credit", () => {
  const train = generateCredit(20_000, 1);
  const fresh = generateCredit(20_000, 4242);

  it.each(["logistic", "mlp"] as const)("%s reaches 94 to 97 percent accuracy on freshly generated data", (kind) => {
    const trained = trainModel({ dataset: train, kind, seed: 1 });
    const accuracy = freshAccuracy(trained, fresh);
    expect(accuracy).toBeGreaterThanOrEqual(0.94);
    expect(accuracy).toBeLessThanOrEqual(0.97);
    expect(trained.metrics.accuracy).toBeGreaterThanOrEqual(0.94);
    expect(trained.metrics.logLoss).toBeLessThan(0.15);
  });

  it("loses accuracy when the concept shifts", () => {
    const trained = trainModel({ dataset: train, kind: "logistic", seed: 1 });
    const shifted = freshAccuracy(trained, generateCredit(10_000, 4243, { conceptShift: 1 }));
    expect(shifted).toBeLessThan(freshAccuracy(trained, fresh) - 0.05);
  });
});

describe("trainModel", () => {
  const dataset = generateCredit(3000, 6);

  it("splits, reports and records what it trained on", () => {
    const t = trainModel({ dataset, kind: "logistic", seed: 6, testFraction: 0.25, epochs: 3 });
    expect(t.metrics.testRows).toBe(750);
    expect(t.metrics.trainRows).toBe(2250);
    expect(t.metrics.perClass.map((c) => c.label)).toEqual(["no", "yes"]);
    expect(t.metrics.perClass.reduce((a, c) => a + c.support, 0)).toBe(750);
    for (const c of t.metrics.perClass) expect(c.f1).toBeGreaterThan(0.5);
    expect(t.trainingData).toEqual({ description: dataset.name, rows: 3000, seed: 6 });
    expect(t.schema).toBe(dataset.schema);
  });

  it("learns from every row and scores the caller's held-out rows when it is given them", () => {
    const heldOut = generateCredit(400, 7).examples;
    const t = trainModel({ dataset, kind: "logistic", seed: 6, epochs: 3, evaluateOn: heldOut });
    expect(t.metrics.trainRows).toBe(3000);
    expect(t.metrics.testRows).toBe(400);
    expect(t.baseline.size).toBe(3000);
    expect(t.baseline.labelCounts.reduce((a, b) => a + b, 0)).toBe(400);
  });

  it("is deterministic in its seed", () => {
    const a = trainModel({ dataset, kind: "mlp", seed: 1, epochs: 2 });
    const b = trainModel({ dataset, kind: "mlp", seed: 1, epochs: 2 });
    const c = trainModel({ dataset, kind: "mlp", seed: 2, epochs: 2 });
    expect(Buffer.from(a.onnx).equals(Buffer.from(b.onnx))).toBe(true);
    expect(Buffer.from(a.onnx).equals(Buffer.from(c.onnx))).toBe(false);
  });

  it("holds out the newest rows when asked, so a concept that moved on shows in the score", () => {
    // 2,400 rows of one concept, then 600 of the rotated one: held out at random, most test rows come
    // from the old concept; held out newest, every test row is the rotated one the model never saw.
    const old = generateHyperplane(2400, 3);
    const moved = generateHyperplane(600, 4, { rotation: 1 });
    const timeline: Dataset = { ...old, name: "old then rotated", examples: [...old.examples, ...moved.examples] };
    const random = trainModel({ dataset: timeline, kind: "logistic", seed: 3 });
    const newest = trainModel({ dataset: timeline, kind: "logistic", seed: 3, holdout: "newest" });
    expect(newest.metrics.testRows).toBe(600);
    expect(random.metrics.accuracy).toBeGreaterThan(0.8);
    expect(newest.metrics.accuracy).toBeLessThan(0.65);
  });

  it("refuses a split that leaves a side empty", () => {
    expect(() => trainModel({ dataset: generateCredit(2, 1), kind: "logistic", seed: 1, testFraction: 0.1 })).toThrow(/non-empty/);
    expect(() => trainModel({ dataset, kind: "logistic", seed: 1, testFraction: 1 })).toThrow(/testFraction/);
  });

  it("learns the hyperplane and fails on the rotated one", () => {
    const trained = trainModel({ dataset: generateHyperplane(8000, 1), kind: "logistic", seed: 1 });
    expect(freshAccuracy(trained, generateHyperplane(5000, 2))).toBeGreaterThan(0.95);
    const rotated = freshAccuracy(trained, generateHyperplane(5000, 2, { rotation: 1 }));
    expect(rotated).toBeGreaterThan(0.4);
    expect(rotated).toBeLessThan(0.6);
  });
});
