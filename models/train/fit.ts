import { Rng, subSeed } from "../rng.ts";
import { Adam } from "./adam.ts";
import { allocateActivations, allocateGradients, backward, forward, initLayers } from "./network.ts";
import type { DenseLayer, ModelKind, TrainedModel } from "./network.ts";
import { fitStandardizer, standardize } from "./standardize.ts";

/** The encoded training split. */
export interface TrainingData {
  /** Raw encoded rows, row-major [rows, width] (encodeRows output). */
  x: Float32Array;
  /** Class index per row. */
  labels: ArrayLike<number>;
  rows: number;
  width: number;
  classes: number;
  /** Slots to standardize (numericSlots(schema)). */
  numericSlots: readonly number[];
}

export interface Hyperparameters {
  /** Hidden layer widths; empty for logistic regression. */
  hidden: readonly number[];
  epochs: number;
  batchSize: number;
  learningRate: number;
  l2: number;
  seed: number;
}

/** Mini-batch Adam on standardized inputs; deterministic given hp.seed. */
export function fitNetwork(kind: ModelKind, data: TrainingData, hp: Hyperparameters): TrainedModel {
  if (data.rows === 0) throw new Error("cannot train on an empty training split");
  const standardizer = fitStandardizer(data.x, data.rows, data.width, data.numericSlots);
  const x = standardize(data.x, data.rows, standardizer);
  const layers = initLayers([data.width, ...hp.hidden, data.classes], new Rng(subSeed(hp.seed, "init")));
  runEpochs(layers, x, data, hp);
  return { kind, standardizer, layers };
}

/**
 * A small data set gets at least this many optimizer steps: a fixed epoch count gives 1,000 rows a
 * tenth of the steps 10,000 get, and the model stops far from its optimum (a retrain on the first
 * labelled rows after a change is exactly such a set). Large sets already exceed it.
 */
export const MIN_STEPS = 2000;

function runEpochs(layers: DenseLayer[], x: Float64Array, data: TrainingData, hp: Hyperparameters): void {
  const batch = Math.min(hp.batchSize, data.rows);
  const epochs = Math.max(hp.epochs, Math.ceil(MIN_STEPS / Math.ceil(data.rows / batch)));
  const acts = allocateActivations(layers, batch);
  const grads = allocateGradients(layers, batch);
  const batchLabels = new Int32Array(batch);
  const adam = new Adam(layers.flatMap((l) => [l.weights, l.bias]));
  const gradList = layers.flatMap((_, l) => [grads.weights[l]!, grads.bias[l]!]);
  const order = Array.from({ length: data.rows }, (_, i) => i);
  const rng = new Rng(subSeed(hp.seed, "batches"));
  const totalSteps = epochs * Math.ceil(data.rows / batch);
  let step = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    rng.shuffle(order);
    for (let start = 0; start < data.rows; start += batch) {
      const size = Math.min(batch, data.rows - start);
      gather(x, data, order, start, size, acts[0]!, batchLabels);
      forward(layers, acts, size);
      backward(layers, acts, batchLabels, size, hp.l2, grads);
      adam.step(gradList, decayed(hp.learningRate, step++ / totalSteps));
    }
  }
}

/** Copies the batch's rows and labels into the reusable buffers. */
function gather(
  x: Float64Array,
  data: TrainingData,
  order: readonly number[],
  start: number,
  size: number,
  input: Float64Array,
  labels: Int32Array,
): void {
  const w = data.width;
  for (let b = 0; b < size; b++) {
    const r = order[start + b]!;
    // An element loop rather than set(subarray()): a view per row would be garbage per sample.
    for (let j = 0; j < w; j++) input[b * w + j] = x[r * w + j]!;
    labels[b] = data.labels[r]!;
  }
}

/** Linear decay to a tenth: big steps early, then small ones so the final weights settle instead of jittering. */
function decayed(learningRate: number, progress: number): number {
  return learningRate * (1 - 0.9 * progress);
}
