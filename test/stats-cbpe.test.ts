import { describe, expect, it } from "vitest";
import {
  calibrate,
  estimateAccuracy,
  estimateAccuracyFromHistogram,
  expectedAccuracyInterval,
  fitCalibrator,
} from "../stats/cbpe.ts";
import { Z_95 } from "../stats/special.ts";
import { expectClose, reference } from "./fixtures/stats/reference.ts";

const { isotonic } = reference;

describe("fitCalibrator (pool-adjacent-violators)", () => {
  it("hand example: violators are pooled into weighted means", () => {
    // y by x: 0.1→0, 0.2→1, 0.3→0, 0.4→1, 0.5→1 (two rows at 0.5, one wrong).
    // PAV: [0] [1,0]→0.5 [1] [0.5 (tie average)] → the last two pool to (1 + 2·0.5)/3 = 2/3.
    const calibrator = fitCalibrator([0.1, 0.2, 0.3, 0.4, 0.5, 0.5], [false, true, false, true, true, false]);
    expect(calibrator.thresholds).toEqual([0.1, 0.2, 0.3, 0.4, 0.5]);
    expect(calibrator.values.map((v) => Number(v.toFixed(12)))).toEqual([0, 0.5, 0.5, 0.666666666667, 0.666666666667]);
  });

  it("is flat inside a block, linear between blocks and clipped outside (sklearn out_of_bounds='clip')", () => {
    const calibrator = fitCalibrator([0.1, 0.2, 0.3, 0.4, 0.5, 0.5], [0, 1, 0, 1, 1, 0]);
    expect(calibrate(calibrator, 0)).toBe(0);
    expect(calibrate(calibrator, 0.15)).toBeCloseTo(0.25, 12);
    expect(calibrate(calibrator, 0.25)).toBeCloseTo(0.5, 12);
    expect(calibrate(calibrator, 0.35)).toBeCloseTo((0.5 + 2 / 3) / 2, 12);
    expect(calibrate(calibrator, 0.9)).toBeCloseTo(2 / 3, 12);
  });

  it("matches scipy.optimize.isotonic_regression + np.interp on a 60-row sample with ties (1e-12)", () => {
    const calibrator = fitCalibrator(isotonic.confidence, isotonic.correct);
    isotonic.queries.forEach((q, i) => expectClose(calibrate(calibrator, q), isotonic.predictions[i]!, { abs: 1e-12 }, `q=${q}`));
    for (let i = 1; i < calibrator.values.length; i++) {
      expect(calibrator.values[i]!).toBeGreaterThanOrEqual(calibrator.values[i - 1]!);
      expect(calibrator.thresholds[i]!).toBeGreaterThan(calibrator.thresholds[i - 1]!);
    }
  });

  it("does not depend on row order", () => {
    const reversed = fitCalibrator([...isotonic.confidence].reverse(), [...isotonic.correct].reverse());
    expect(reversed).toEqual(fitCalibrator(isotonic.confidence, isotonic.correct));
  });

  it("a single distinct confidence gives a constant calibrator", () => {
    const calibrator = fitCalibrator([0.7, 0.7, 0.7, 0.7], [1, 1, 0, 1]);
    expect(calibrate(calibrator, 0.1)).toBe(0.75);
    expect(calibrate(calibrator, 0.99)).toBe(0.75);
  });

  it("rejects empty and inconsistent input", () => {
    expect(() => fitCalibrator([], [])).toThrow("fitCalibrator: no observations");
    expect(() => fitCalibrator([0.5], [1, 0])).toThrow("fitCalibrator: 1 confidences but 2 correctness labels");
    expect(() => fitCalibrator([0.5, Number.NaN], [1, 0])).toThrow(/confidence must be finite/);
    expect(() => fitCalibrator([0.5], [2])).toThrow(/correct must be a boolean or in \[0, 1\]/);
    expect(() => calibrate({ thresholds: [], values: [] }, 0.5)).toThrow(/no thresholds/);
  });
});

describe("accuracy estimation", () => {
  const calibrator = fitCalibrator(isotonic.confidence, isotonic.correct);

  it("estimateAccuracy is the mean calibrated probability", () => {
    const mean = isotonic.predictions.reduce((a, b) => a + b, 0) / isotonic.predictions.length;
    expectClose(estimateAccuracy(calibrator, isotonic.queries), mean, { abs: 1e-12 });
  });

  it("estimateAccuracyFromHistogram weights bin midpoints by counts (numpy average, 1e-12)", () => {
    const value = estimateAccuracyFromHistogram(calibrator, isotonic.histogramMidpoints, isotonic.histogramCounts);
    expectClose(value, isotonic.histogramAccuracy, { abs: 1e-12 });
  });

  it("a histogram with unit counts equals the raw form", () => {
    const raw = [0.35, 0.5, 0.5, 0.8];
    expect(estimateAccuracyFromHistogram(calibrator, [0.35, 0.5, 0.8], [1, 2, 1])).toBeCloseTo(estimateAccuracy(calibrator, raw), 14);
  });

  it("expectedAccuracyInterval uses the Poisson-binomial variance", () => {
    const perfect = fitCalibrator([0.2, 0.9], [0, 1]);
    // Calibrated p is 0 or 1 at the thresholds: no sampling variance at all.
    expect(expectedAccuracyInterval(perfect, [0.2, 0.9, 0.9])).toEqual({ accuracy: 2 / 3, lower: 2 / 3, upper: 2 / 3 });
    // At 0.55 the calibrated p is 0.5 for each of 100 rows: sd = sqrt(100·0.25)/100 = 0.05.
    const { accuracy, lower, upper } = expectedAccuracyInterval(perfect, [0.55], [100]);
    expectClose(accuracy, 0.5, { abs: 1e-14 });
    expectClose(upper - accuracy, Z_95 * 0.05, { rel: 1e-12 });
    expectClose(accuracy - lower, Z_95 * 0.05, { rel: 1e-12 });
  });

  it("rejects empty estimation input", () => {
    expect(() => estimateAccuracy(calibrator, [])).toThrow("estimateAccuracy: no confidences");
    expect(() => estimateAccuracyFromHistogram(calibrator, [0.5, 0.6], [0, 0])).toThrow("estimateAccuracyFromHistogram: all counts are 0");
    expect(() => estimateAccuracyFromHistogram(calibrator, [0.5, 0.6], [1])).toThrow(/2 bin midpoints but 1 counts/);
  });
});
