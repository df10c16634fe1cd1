import type { Rng } from "../rng.ts";
import type { Standardizer } from "./standardize.ts";

/**
 * A dense feed-forward network: ReLU between layers, softmax after the last. Logistic regression
 * is the one-layer case, the MLP the two-layer one, so both share this math (and the ONNX export
 * and the TS forward pass stay one code path each).
 */
export interface DenseLayer {
  inputs: number;
  outputs: number;
  /** Row-major [inputs, outputs]: the layout ONNX Gemm takes as B without transposition. */
  weights: Float64Array;
  bias: Float64Array;
}

export type ModelKind = "logistic" | "mlp";

export interface TrainedModel {
  kind: ModelKind;
  /** Applied to the encoded input before the first layer; the ONNX export folds it into that layer. */
  standardizer: Standardizer;
  layers: DenseLayer[];
}

/** He initialisation for layers feeding a ReLU, a plain 1/fan-in scale for the softmax layer. */
export function initLayers(sizes: readonly number[], rng: Rng): DenseLayer[] {
  const layers: DenseLayer[] = [];
  for (let l = 1; l < sizes.length; l++) {
    const inputs = sizes[l - 1]!;
    const outputs = sizes[l]!;
    const scale = Math.sqrt((l < sizes.length - 1 ? 2 : 1) / inputs);
    const weights = new Float64Array(inputs * outputs);
    for (let k = 0; k < weights.length; k++) weights[k] = rng.normal(0, scale);
    layers.push({ inputs, outputs, weights, bias: new Float64Array(outputs) });
  }
  return layers;
}

/** Buffers for one batch: acts[0] is the input, acts[l] the output of layer l; reused across batches. */
export function allocateActivations(layers: readonly DenseLayer[], rows: number): Float64Array[] {
  const first = layers[0];
  if (!first) throw new Error("a network needs at least one layer");
  return [new Float64Array(rows * first.inputs), ...layers.map((l) => new Float64Array(rows * l.outputs))];
}

/** Fills acts[1..] from acts[0] for the first `rows` rows; the last entry ends up as probabilities. */
export function forward(layers: readonly DenseLayer[], acts: readonly Float64Array[], rows: number): void {
  layers.forEach((layer, l) => {
    const out = acts[l + 1]!;
    affine(layer, acts[l]!, out, rows);
    if (l < layers.length - 1) relu(out, rows * layer.outputs);
    else softmaxRows(out, rows, layer.outputs);
  });
}

function affine(layer: DenseLayer, input: Float64Array, out: Float64Array, rows: number): void {
  const { inputs, outputs, weights, bias } = layer;
  for (let r = 0; r < rows; r++) {
    const o = r * outputs;
    for (let j = 0; j < outputs; j++) out[o + j] = bias[j]!;
    for (let i = 0; i < inputs; i++) {
      const a = input[r * inputs + i]!;
      // One-hot and ReLU outputs are mostly zeros; skipping them is most of the speed.
      if (a === 0) continue;
      const w = i * outputs;
      for (let j = 0; j < outputs; j++) out[o + j] = out[o + j]! + a * weights[w + j]!;
    }
  }
}

function relu(x: Float64Array, length: number): void {
  for (let k = 0; k < length; k++) if (x[k]! < 0) x[k] = 0;
}

/** Shifted by the row maximum so exp never overflows. */
function softmaxRows(x: Float64Array, rows: number, width: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * width;
    let max = -Infinity;
    for (let j = 0; j < width; j++) max = Math.max(max, x[o + j]!);
    let sum = 0;
    for (let j = 0; j < width; j++) {
      const e = Math.exp(x[o + j]! - max);
      x[o + j] = e;
      sum += e;
    }
    for (let j = 0; j < width; j++) x[o + j] = x[o + j]! / sum;
  }
}

export interface Gradients {
  weights: Float64Array[];
  bias: Float64Array[];
  /** deltas[l]: loss gradient w.r.t. the pre-activation of layer l, per row. */
  deltas: Float64Array[];
}

export function allocateGradients(layers: readonly DenseLayer[], rows: number): Gradients {
  return {
    weights: layers.map((l) => new Float64Array(l.weights.length)),
    bias: layers.map((l) => new Float64Array(l.outputs)),
    deltas: layers.map((l) => new Float64Array(rows * l.outputs)),
  };
}

/**
 * Gradients of the mean cross-entropy over the batch plus (l2 / 2)·‖W‖², after forward() ran on
 * the same acts. Softmax with cross-entropy has the simple output delta p − onehot(y).
 */
export function backward(
  layers: readonly DenseLayer[],
  acts: readonly Float64Array[],
  labels: ArrayLike<number>,
  rows: number,
  l2: number,
  g: Gradients,
): void {
  const last = layers.length - 1;
  outputDelta(acts[last + 1]!, labels, rows, layers[last]!.outputs, g.deltas[last]!);
  for (let l = last; l >= 0; l--) {
    const layer = layers[l]!;
    const delta = g.deltas[l]!;
    layerGradients(layer, acts[l]!, delta, rows, l2, g.weights[l]!, g.bias[l]!);
    if (l > 0) hiddenDelta(layer, acts[l]!, delta, rows, g.deltas[l - 1]!);
  }
}

function outputDelta(probs: Float64Array, labels: ArrayLike<number>, rows: number, classes: number, delta: Float64Array): void {
  const scale = 1 / rows;
  for (let r = 0; r < rows; r++) {
    const o = r * classes;
    const y = labels[r]!;
    for (let j = 0; j < classes; j++) delta[o + j] = (probs[o + j]! - (j === y ? 1 : 0)) * scale;
  }
}

function layerGradients(
  layer: DenseLayer,
  input: Float64Array,
  delta: Float64Array,
  rows: number,
  l2: number,
  gw: Float64Array,
  gb: Float64Array,
): void {
  const { inputs, outputs, weights } = layer;
  for (let k = 0; k < gw.length; k++) gw[k] = l2 * weights[k]!;
  gb.fill(0);
  for (let r = 0; r < rows; r++) {
    const o = r * outputs;
    for (let j = 0; j < outputs; j++) gb[j] = gb[j]! + delta[o + j]!;
    for (let i = 0; i < inputs; i++) {
      const a = input[r * inputs + i]!;
      if (a === 0) continue;
      const w = i * outputs;
      for (let j = 0; j < outputs; j++) gw[w + j] = gw[w + j]! + a * delta[o + j]!;
    }
  }
}

/** Propagates delta through the weights and the ReLU that produced `input` (input > 0 ⇔ unit was active). */
function hiddenDelta(layer: DenseLayer, input: Float64Array, delta: Float64Array, rows: number, out: Float64Array): void {
  const { inputs, outputs, weights } = layer;
  for (let r = 0; r < rows; r++) {
    const o = r * outputs;
    for (let i = 0; i < inputs; i++) {
      let sum = 0;
      if (input[r * inputs + i]! > 0) {
        const w = i * outputs;
        for (let j = 0; j < outputs; j++) sum += delta[o + j]! * weights[w + j]!;
      }
      out[r * inputs + i] = sum;
    }
  }
}
