/**
 * Per-slot affine scaling of the encoded matrix. Only numeric slots are scaled: one-hot slots are
 * already on a 0/1 scale and keep mean 0, std 1 (the identity), which also keeps them sparse.
 */
export interface Standardizer {
  mean: Float64Array;
  std: Float64Array;
}

/** Fitted on the training split only, so held-out metrics are not flattered by test statistics. */
export function fitStandardizer(x: Float32Array, rows: number, width: number, slots: readonly number[]): Standardizer {
  const mean = new Float64Array(width);
  const std = new Float64Array(width).fill(1);
  for (const slot of slots) {
    const m = columnMean(x, rows, width, slot);
    const s = Math.sqrt(columnMeanSquare(x, rows, width, slot, m));
    mean[slot] = m;
    // A constant column carries no information; scaling it by 1 avoids dividing by zero.
    std[slot] = s > 1e-12 ? s : 1;
  }
  return { mean, std };
}

/** A standardized copy in float64, the precision training works in. */
export function standardize(x: Float32Array, rows: number, s: Standardizer): Float64Array {
  const width = s.mean.length;
  const out = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) {
    const base = r * width;
    for (let j = 0; j < width; j++) {
      out[base + j] = (x[base + j]! - s.mean[j]!) / s.std[j]!;
    }
  }
  return out;
}

function columnMean(x: Float32Array, rows: number, width: number, slot: number): number {
  let sum = 0;
  for (let r = 0; r < rows; r++) sum += x[r * width + slot]!;
  return rows > 0 ? sum / rows : 0;
}

function columnMeanSquare(x: Float32Array, rows: number, width: number, slot: number, mean: number): number {
  let sum = 0;
  for (let r = 0; r < rows; r++) sum += (x[r * width + slot]! - mean) ** 2;
  return rows > 0 ? sum / rows : 0;
}
