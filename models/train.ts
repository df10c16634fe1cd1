import { computeBaseline, featureBaselines, imputationFill, type ModelBaseline } from "./baseline.ts";
import { encodedWidth, encodeRows, numericSlots } from "./encode.ts";
import { evaluate, type ClassMetrics } from "./evaluate.ts";
import { exportOnnx } from "./onnx-export.ts";
import type { NewVersion } from "./registry.ts";
import { predictProba } from "./predict.ts";
import { Rng, subSeed } from "./rng.ts";
import type { Dataset, Example, ModelSchema } from "./schema.ts";
import type { TrainingData } from "./train/fit.ts";
import { trainLogistic } from "./train/logistic.ts";
import { trainMlp } from "./train/mlp.ts";
import type { ModelKind, TrainedModel } from "./train/network.ts";

export interface TrainRequest {
  dataset: Dataset;
  kind: ModelKind;
  /** Drives the split, the initialisation, the batch order and the baseline samples. */
  seed: number;
  /** Share of rows held out for evaluation and the prediction baseline. */
  testFraction?: number;
  /**
   * Which rows are held out. "random" (default): a seeded shuffle. "newest": the examples are in
   * time order, oldest first, and the last ones are held out, so the score says how the model does
   * on what comes after what it learnt from, as it will once deployed on a drifting population.
   */
  holdout?: "random" | "newest";
  /** Overrides the kind's default epoch count. */
  epochs?: number;
  /**
   * Rows the caller already keeps apart: every example of the dataset is learnt from and these are
   * the held-out ones (testFraction and holdout are then unused). A caller short of rows, like a
   * retrain on the log since a change point, should not lose a fifth of them to a second split.
   */
  evaluateOn?: readonly Example[];
}

// Type aliases rather than interfaces: the registry takes these as Record<string, unknown>.
export type TrainMetrics = {
  accuracy: number;
  logLoss: number;
  perClass: ClassMetrics[];
  trainRows: number;
  testRows: number;
};

export type TrainingDataInfo = {
  description: string;
  /** Rows in the dataset, before the split. */
  rows: number;
  seed: number;
};

export interface TrainResult {
  onnx: Uint8Array;
  schema: ModelSchema;
  metrics: TrainMetrics;
  baseline: ModelBaseline;
  trainingData: TrainingDataInfo;
  /** The model itself, for predictProba. */
  weights: TrainedModel;
}

/** What registering a trained model takes: the result, and the examples it learnt from as its reference sample. */
export function newVersionOf(model: string, kind: ModelKind, trained: TrainResult, examples: readonly Example[], actor?: string): NewVersion {
  return {
    model,
    kind,
    onnx: trained.onnx,
    schema: trained.schema,
    metrics: trained.metrics,
    trainingData: trained.trainingData,
    baseline: trained.baseline,
    reference: examples,
    ...(actor ? { actor } : {}),
  };
}

/** Split, fit, evaluate on the held-out rows, export ONNX and compute the baseline. Pure: no I/O. */
export function trainModel(request: TrainRequest): TrainResult {
  const { dataset, kind, seed, testFraction = 0.2, holdout = "random" } = request;
  const schema = dataset.schema;
  const { train, test } = request.evaluateOn
    ? { train: [...dataset.examples], test: [...request.evaluateOn] }
    : split(dataset.examples, testFraction, seed, holdout);
  const features = featureBaselines(train.map((e) => e.row), schema, seed);
  // Imputing with the baseline's means is what serving can reproduce: it has the baseline, not the data.
  const fill = imputationFill(features, schema);
  const weights = fit(kind, encodeSplit(train, schema, fill), seed, request.epochs);
  const labels = Int32Array.from(test, (e) => e.label);
  const proba = predictProba(weights, encodeRows(test.map((e) => e.row), schema, fill), test.length);
  const evaluation = evaluate(proba, labels, schema.classes);
  return {
    onnx: exportOnnx(weights, schema),
    schema,
    metrics: { ...evaluation, trainRows: train.length, testRows: test.length },
    baseline: computeBaseline(features, { proba, labels, classes: schema.classes.length }, seed),
    trainingData: { description: dataset.name, rows: dataset.examples.length, seed },
    weights,
  };
}

function split(examples: readonly Example[], testFraction: number, seed: number, holdout: "random" | "newest"): { train: Example[]; test: Example[] } {
  if (!(testFraction > 0 && testFraction < 1)) throw new Error(`testFraction must be strictly between 0 and 1, not ${testFraction}`);
  const testRows = Math.round(examples.length * testFraction);
  if (testRows < 1 || testRows >= examples.length) {
    throw new Error(`cannot hold out ${testFraction} of ${examples.length} rows and keep both splits non-empty`);
  }
  if (holdout === "newest") return { train: examples.slice(0, -testRows), test: examples.slice(-testRows) };
  const shuffled = new Rng(subSeed(seed, "split")).shuffle([...examples]);
  return { train: shuffled.slice(testRows), test: shuffled.slice(0, testRows) };
}

function encodeSplit(examples: readonly Example[], schema: ModelSchema, fill: readonly number[]): TrainingData {
  return {
    x: encodeRows(examples.map((e) => e.row), schema, fill),
    labels: Int32Array.from(examples, (e) => e.label),
    rows: examples.length,
    width: encodedWidth(schema),
    classes: schema.classes.length,
    numericSlots: numericSlots(schema),
  };
}

function fit(kind: ModelKind, data: TrainingData, seed: number, epochs: number | undefined): TrainedModel {
  const options = epochs === undefined ? { seed } : { seed, epochs };
  return kind === "logistic" ? trainLogistic(data, options) : trainMlp(data, options);
}
