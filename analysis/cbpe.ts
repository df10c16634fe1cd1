import type { ModelBaseline } from "../models/baseline.ts";
import { calibrate, fitCalibrator, Z_95, type IsotonicCalibrator } from "../stats/index.ts";

/**
 * Confidence histograms for CBPE: SQL counts answered rows per confidence bin of width 1/CONF_BINS
 * (the SQL expression below); each bin's rows are taken to sit at its midpoint, as
 * estimateAccuracyFromHistogram does. With 100 bins the calibrated curve barely moves inside a bin.
 */
export const CONF_BINS = 100;
export const CONF_BIN_SQL = `toUInt16(least(floor(confidence * ${CONF_BINS}), ${CONF_BINS - 1}))`;

export const confBinMidpoint = (bin: number): number => (bin + 0.5) / CONF_BINS;

const calibrators = new WeakMap<ModelBaseline, IsotonicCalibrator | null>();

/** The isotonic P(correct | confidence) fitted on the baseline's held-out pairs; null without calibration data. */
export function calibratorFor(baseline: ModelBaseline | null): IsotonicCalibrator | null {
  if (!baseline) return null;
  let c = calibrators.get(baseline);
  if (c === undefined) {
    const { confidence, correct } = baseline.calibration ?? { confidence: [], correct: [] };
    c = confidence.length > 0 ? fitCalibrator(confidence, correct) : null;
    calibrators.set(baseline, c);
  }
  return c;
}

/**
 * Running sums of calibrated P(correct) over histogram bins; several versions' histograms (each
 * with its own calibrator) add into one, which estimateAccuracyFromHistogram cannot do.
 */
export class CbpeSum {
  rows = 0;
  private sum = 0;
  private variance = 0;

  add(calibrator: IsotonicCalibrator, bin: number, count: number): void {
    if (count <= 0) return;
    const p = calibrate(calibrator, confBinMidpoint(bin));
    this.rows += count;
    this.sum += count * p;
    this.variance += count * p * (1 - p);
  }

  merge(other: CbpeSum): void {
    this.rows += other.rows;
    this.sum += other.sum;
    this.variance += other.variance;
  }

  /** Mean calibrated P(correct) ± 1.96 sd of the Poisson-binomial accuracy (sampling noise only, not calibration error). */
  result(): { accuracy: number; lower: number; upper: number; rows: number } | null {
    if (this.rows === 0) return null;
    const accuracy = this.sum / this.rows;
    const half = (Z_95 * Math.sqrt(this.variance)) / this.rows;
    return { accuracy, lower: Math.max(0, accuracy - half), upper: Math.min(1, accuracy + half), rows: this.rows };
  }
}
