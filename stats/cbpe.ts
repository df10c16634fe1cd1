// Confidence-based performance estimation (CBPE), as NannyML does it: calibrate the model's
// confidence on labelled reference data with isotonic regression, then estimate accuracy on
// unlabelled production data as the mean calibrated probability of being correct.
//
// NannyML calibrates with scikit-learn's IsotonicRegression(out_of_bounds="clip"); we reproduce
// its fit (ties in confidence averaged, then pool-adjacent-violators) and its prediction: flat
// within each pooled block, linear between neighbouring blocks, clipped beyond the fitted range.
import { Z_95 } from "./special.ts";

/** The fitted isotonic curve, as plain data so it can be stored and reloaded. */
export interface IsotonicCalibrator {
  /** Increasing confidences: the first and last confidence of every pooled block. */
  readonly thresholds: readonly number[];
  /** Calibrated P(correct) at each threshold; non-decreasing. */
  readonly values: readonly number[];
}

/** Fits P(correct | confidence) by isotonic regression (pool-adjacent-violators) on labelled rows. */
export function fitCalibrator(
  confidence: readonly number[],
  correct: readonly (boolean | number)[],
): IsotonicCalibrator {
  if (confidence.length === 0) throw new Error("fitCalibrator: no observations");
  if (confidence.length !== correct.length) {
    throw new Error(`fitCalibrator: ${confidence.length} confidences but ${correct.length} correctness labels`);
  }
  const outcome = correct.map((c, i) => {
    const y = typeof c === "boolean" ? Number(c) : c;
    if (!(y >= 0 && y <= 1)) throw new Error(`fitCalibrator: correct must be a boolean or in [0, 1], got ${c} at index ${i}`);
    return y;
  });
  confidence.forEach((x, i) => {
    if (!Number.isFinite(x)) throw new Error(`fitCalibrator: confidence must be finite, got ${x} at index ${i}`);
  });
  const order = Array.from({ length: confidence.length }, (_, i) => i).sort((a, b) => confidence[a]! - confidence[b]!);
  const points = averageTies(order.map((i) => confidence[i]!), order.map((i) => outcome[i]!));
  return thresholdsOf(points.xs, poolAdjacentViolators(points.ys, points.weights));
}

// Equal confidences become one point with the mean outcome and their count as weight.
function averageTies(xs: readonly number[], ys: readonly number[]): { xs: number[]; ys: number[]; weights: number[] } {
  const out = { xs: [] as number[], ys: [] as number[], weights: [] as number[] };
  for (let i = 0; i < xs.length; i++) {
    const last = out.xs.length - 1;
    if (last >= 0 && out.xs[last] === xs[i]) {
      out.ys[last]! += ys[i]!;
      out.weights[last]!++;
    } else {
      out.xs.push(xs[i]!);
      out.ys.push(ys[i]!);
      out.weights.push(1);
    }
  }
  out.ys.forEach((sum, i) => (out.ys[i] = sum / out.weights[i]!));
  return out;
}

interface Block {
  value: number;
  weight: number;
  first: number;
  last: number;
}

// Weighted PAV. Equal neighbours are pooled too: the fitted values are the same and it leaves
// fewer thresholds.
function poolAdjacentViolators(ys: readonly number[], weights: readonly number[]): Block[] {
  const blocks: Block[] = [];
  for (let i = 0; i < ys.length; i++) {
    let block: Block = { value: ys[i]!, weight: weights[i]!, first: i, last: i };
    while (blocks.length > 0 && blocks[blocks.length - 1]!.value >= block.value) {
      const previous = blocks.pop()!;
      const weight = previous.weight + block.weight;
      block = {
        value: (previous.value * previous.weight + block.value * block.weight) / weight,
        weight,
        first: previous.first,
        last: block.last,
      };
    }
    blocks.push(block);
  }
  return blocks;
}

function thresholdsOf(xs: readonly number[], blocks: readonly Block[]): IsotonicCalibrator {
  const thresholds: number[] = [];
  const values: number[] = [];
  for (const block of blocks) {
    thresholds.push(xs[block.first]!);
    values.push(block.value);
    if (block.last !== block.first) {
      thresholds.push(xs[block.last]!);
      values.push(block.value);
    }
  }
  return { thresholds, values };
}

/** Calibrated P(correct) at one confidence: linear between thresholds, clipped outside them. */
export function calibrate(calibrator: IsotonicCalibrator, confidence: number): number {
  if (Number.isNaN(confidence)) throw new Error("calibrate: confidence is NaN");
  const { thresholds: x, values: y } = calibrator;
  const last = x.length - 1;
  if (last < 0) throw new Error("calibrate: calibrator has no thresholds");
  if (confidence <= x[0]!) return y[0]!;
  if (confidence >= x[last]!) return y[last]!;
  // Binary search for x[lo] ≤ confidence < x[lo + 1].
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (x[mid]! <= confidence) lo = mid;
    else hi = mid;
  }
  const t = (confidence - x[lo]!) / (x[hi]! - x[lo]!);
  return y[lo]! + t * (y[hi]! - y[lo]!);
}

interface Moments {
  readonly mean: number;
  /** Variance of the accuracy: Σ w·p(1 − p) / N², the Poisson-binomial variance over N². */
  readonly variance: number;
}

// Weighted mean and Poisson-binomial variance of calibrated P(correct); weights default to 1.
function calibratedMoments(
  name: string,
  calibrator: IsotonicCalibrator,
  confidences: readonly number[],
  counts?: readonly number[],
): Moments {
  if (confidences.length === 0) throw new Error(`${name}: no confidences`);
  if (counts && counts.length !== confidences.length) {
    throw new Error(`${name}: ${confidences.length} bin midpoints but ${counts.length} counts`);
  }
  let n = 0;
  let sum = 0;
  let varianceSum = 0;
  for (let i = 0; i < confidences.length; i++) {
    const w = counts ? counts[i]! : 1;
    if (!(w >= 0) || w === Infinity) throw new Error(`${name}: counts must be finite and >= 0, got ${w} at index ${i}`);
    if (w === 0) continue;
    const p = calibrate(calibrator, confidences[i]!);
    n += w;
    sum += w * p;
    varianceSum += w * p * (1 - p);
  }
  if (n === 0) throw new Error(`${name}: all counts are 0`);
  return { mean: sum / n, variance: varianceSum / (n * n) };
}

/** Expected accuracy on unlabelled rows: mean calibrated P(correct) of their confidences. */
export function estimateAccuracy(calibrator: IsotonicCalibrator, confidences: readonly number[]): number {
  return calibratedMoments("estimateAccuracy", calibrator, confidences).mean;
}

/** Expected accuracy from a confidence histogram: each bin's rows are taken to sit at its midpoint. */
export function estimateAccuracyFromHistogram(
  calibrator: IsotonicCalibrator,
  binMidpoints: readonly number[],
  counts: readonly number[],
): number {
  return calibratedMoments("estimateAccuracyFromHistogram", calibrator, binMidpoints, counts).mean;
}

export interface AccuracyInterval {
  readonly accuracy: number;
  readonly lower: number;
  readonly upper: number;
}

/**
 * Expected accuracy ± z·sd of the realized accuracy, treating rows as independent Bernoulli trials
 * with the calibrated probabilities (Poisson-binomial). It reflects sampling noise only, not
 * calibration error. Pass `counts` when `confidences` are histogram bin midpoints.
 */
export function expectedAccuracyInterval(
  calibrator: IsotonicCalibrator,
  confidences: readonly number[],
  counts?: readonly number[],
  z = Z_95,
): AccuracyInterval {
  const { mean, variance } = calibratedMoments("expectedAccuracyInterval", calibrator, confidences, counts);
  const halfWidth = z * Math.sqrt(variance);
  return { accuracy: mean, lower: Math.max(0, mean - halfWidth), upper: Math.min(1, mean + halfWidth) };
}
