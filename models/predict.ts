import { allocateActivations, forward } from "./train/network.ts";
import type { TrainedModel } from "./train/network.ts";
import { standardize } from "./train/standardize.ts";

/** Rows per pass: bounds the scratch memory for large inputs while keeping loops long. */
const CHUNK_ROWS = 4096;

/**
 * Class probabilities, row-major [n, classes], from raw encoded rows (encodeRows output). The
 * reference the ONNX export is checked against, so it runs the unfolded model in float64.
 */
export function predictProba(model: TrainedModel, encoded: Float32Array, n: number): Float32Array {
  const width = model.standardizer.mean.length;
  const classes = model.layers[model.layers.length - 1]!.outputs;
  if (encoded.length !== n * width) throw new Error(`predictProba: expected ${n}×${width} values, got ${encoded.length}`);
  const out = new Float32Array(n * classes);
  const acts = allocateActivations(model.layers, Math.min(n, CHUNK_ROWS));
  for (let start = 0; start < n; start += CHUNK_ROWS) {
    const rows = Math.min(CHUNK_ROWS, n - start);
    acts[0]!.set(standardize(encoded.subarray(start * width, (start + rows) * width), rows, model.standardizer));
    forward(model.layers, acts, rows);
    out.set(acts[acts.length - 1]!.subarray(0, rows * classes), start * classes);
  }
  return out;
}
