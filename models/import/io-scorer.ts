import ort from "onnxruntime-node";
import type { ModelSchema, Row } from "../schema.ts";
import { scoreOutput, type IoInput, type IoMapping } from "./io-mapping.ts";

/**
 * What serving needs of a loaded version: rows → a flat Float32Array ([rows, width], so the
 * micro-batcher can concatenate requests), and such a batch → probabilities [rows, classes].
 */
export interface Scorer {
  width: number;
  encode(rows: readonly Row[]): Float32Array;
  run(encoded: Float32Array, rows: number): Promise<Float32Array>;
}

/** How one feature fills its slots of the encoded row. */
type SlotWriter =
  | { kind: "number"; feature: string; slot: number; fillValue: number }
  | { kind: "onehot"; feature: string; slot: number; lookup: Map<string, number> }
  /** Category index (−1 for unseen or missing): a string tensor is built from it at run time. */
  | { kind: "category"; feature: string; slot: number; lookup: Map<string, number> };

interface InputPlan {
  input: IoInput;
  /** First slot and slot count of this input in the encoded row. */
  offset: number;
  width: number;
  /** String inputs: category text by index, per column. */
  categories: string[][];
}

/**
 * The scorer of an imported version, planned once per loaded version so a request does only the
 * per-row work. Numeric values travel as float32 whatever the input's element type, which rounds a
 * float64 input's values to float32 precision. An unseen or missing category reaches a string input
 * as the empty string, which a OneHotEncoder encodes as all zeros, as it does any unknown value.
 */
export function ioScorer(session: ort.InferenceSession, schema: ModelSchema, fill: readonly number[]): Scorer {
  const io = schema.io!;
  const { writers, inputs, width } = plan(io, schema, fill);
  const output = scoreOutput(io.outputs);
  const classes = schema.classes.length;
  const single = inputs.length === 1 && inputs[0]!.input.dtype === "float32" ? inputs[0]! : null;
  return {
    width,
    encode(rows) {
      const out = new Float32Array(rows.length * width);
      for (let r = 0; r < rows.length; r++) writeRow(rows[r]!, writers, out, r * width);
      return out;
    },
    async run(encoded, rows) {
      // One float input (the PyTorch and single-matrix convention): the encoded batch is the tensor.
      const feeds = single
        ? { [single.input.name]: new ort.Tensor("float32", encoded, [rows, width]) }
        : Object.fromEntries(inputs.map((p) => [p.input.name, inputTensor(p, encoded, rows, width)]));
      const result = await session.run(feeds, [output.name]);
      return toProbabilities(result[output.name]!, rows, classes, output.kind);
    },
  };
}

function plan(io: IoMapping, schema: ModelSchema, fill: readonly number[]): { writers: SlotWriter[]; inputs: InputPlan[]; width: number } {
  const specs = new Map(schema.features.map((f) => [f.name, f]));
  const numericOrdinal = new Map(schema.features.filter((f) => f.type === "numeric").map((f, k) => [f.name, k]));
  const writers: SlotWriter[] = [];
  const inputs: InputPlan[] = [];
  let slot = 0;
  for (const input of io.inputs) {
    const offset = slot;
    const categories: string[][] = [];
    for (const name of input.features) {
      const spec = specs.get(name)!;
      if (spec.type === "numeric") {
        writers.push({ kind: "number", feature: name, slot: slot++, fillValue: fill[numericOrdinal.get(name)!] ?? 0 });
        continue;
      }
      const lookup = new Map(spec.categories.map((c, i) => [c, i]));
      if (input.dtype === "string") {
        writers.push({ kind: "category", feature: name, slot: slot++, lookup });
        categories.push(spec.categories);
      } else {
        writers.push({ kind: "onehot", feature: name, slot, lookup });
        slot += spec.categories.length;
      }
    }
    inputs.push({ input, offset, width: slot - offset, categories });
  }
  return { writers, inputs, width: slot };
}

function writeRow(row: Row, writers: readonly SlotWriter[], out: Float32Array, base: number): void {
  for (const w of writers) {
    const value = row[w.feature];
    if (w.kind === "number") {
      // Missing numbers take the reference mean, as native serving imputes them.
      out[base + w.slot] = typeof value === "number" && Number.isFinite(value) ? value : w.fillValue;
      continue;
    }
    const index = value === null || value === undefined ? -1 : (w.lookup.get(String(value)) ?? -1);
    if (w.kind === "category") out[base + w.slot] = index;
    else if (index >= 0) out[base + w.slot + index] = 1;
  }
}

function inputTensor(p: InputPlan, encoded: Float32Array, rows: number, width: number): ort.Tensor {
  const dims = [rows, p.width];
  if (p.input.dtype === "string") {
    const values = new Array<string>(rows * p.width);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < p.width; j++) values[r * p.width + j] = p.categories[j]![encoded[r * width + p.offset + j]!] ?? "";
    }
    return new ort.Tensor("string", values, dims);
  }
  const columns = new Float32Array(rows * p.width);
  for (let r = 0; r < rows; r++) columns.set(encoded.subarray(r * width + p.offset, r * width + p.offset + p.width), r * p.width);
  switch (p.input.dtype) {
    case "float32":
      return new ort.Tensor("float32", columns, dims);
    case "float64":
      return new ort.Tensor("float64", Float64Array.from(columns), dims);
    case "int32":
      return new ort.Tensor("int32", Int32Array.from(columns, Math.round), dims);
    case "int64":
      return new ort.Tensor("int64", BigInt64Array.from(columns, (v) => BigInt(Math.round(v))), dims);
  }
}

/** Scores [rows, C] as probabilities; one column for two classes is P(second class). */
function toProbabilities(tensor: ort.Tensor, rows: number, classes: number, kind: "probabilities" | "logits"): Float32Array {
  const data = tensor.data as Float32Array | Float64Array;
  const columns = rows > 0 ? data.length / rows : classes;
  if (columns === 1 && classes === 2) {
    const out = new Float32Array(rows * 2);
    for (let r = 0; r < rows; r++) {
      const p = kind === "logits" ? 1 / (1 + Math.exp(-data[r]!)) : data[r]!;
      out[2 * r] = 1 - p;
      out[2 * r + 1] = p;
    }
    return out;
  }
  if (columns !== classes) throw new Error(`score output has ${columns} columns per row, expected ${classes} (one per class)`);
  const out = data instanceof Float32Array ? data : Float32Array.from(data);
  if (kind === "logits") for (let r = 0; r < rows; r++) softmaxInPlace(out, r * classes, classes);
  return out;
}

function softmaxInPlace(v: Float32Array, offset: number, width: number): void {
  let max = -Infinity;
  for (let j = 0; j < width; j++) max = Math.max(max, v[offset + j]!);
  let sum = 0;
  for (let j = 0; j < width; j++) sum += v[offset + j] = Math.exp(v[offset + j]! - max);
  for (let j = 0; j < width; j++) v[offset + j] = v[offset + j]! / sum;
}
