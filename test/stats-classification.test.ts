import { describe, expect, it } from "vitest";
import { classificationMetrics } from "../stats/classification.ts";
import { expectClose } from "./fixtures/stats/reference.ts";

describe("classificationMetrics", () => {
  // Rows = true class, columns = predicted.
  const matrix = [
    [50, 10, 0],
    [5, 30, 5],
    [0, 10, 40],
  ];

  it("computes accuracy and per-class metrics (checked by hand)", () => {
    const m = classificationMetrics(matrix);
    expectClose(m.accuracy, 120 / 150, { rel: 1e-15 });
    const expected = [
      { precision: 50 / 55, recall: 50 / 60, f1: 100 / 115, support: 60 },
      { precision: 30 / 50, recall: 30 / 40, f1: 60 / 90, support: 40 },
      { precision: 40 / 45, recall: 40 / 50, f1: 80 / 95, support: 50 },
    ];
    m.perClass.forEach((c, i) => {
      const e = expected[i]!;
      expectClose(c.precision, e.precision, { rel: 1e-15 });
      expectClose(c.recall, e.recall, { rel: 1e-15 });
      expectClose(c.f1, e.f1, { rel: 1e-15 });
      expect(c.support).toBe(e.support);
    });
    expectClose(m.macroF1, (100 / 115 + 60 / 90 + 80 / 95) / 3, { rel: 1e-15 });
  });

  it("defines 0/0 as 0 and leaves classes that never occur out of macro-F1", () => {
    const m = classificationMetrics([
      [5, 0, 0],
      [3, 0, 0],
      [0, 0, 0],
    ]);
    // Class 1 is true 3 times but never predicted: precision 0/0 → 0, recall 0, F1 0.
    expect(m.perClass[1]).toEqual({ precision: 0, recall: 0, f1: 0, support: 3 });
    // Class 2 occurs neither as truth nor as prediction.
    expect(m.perClass[2]).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
    expectClose(m.macroF1, (10 / 13 + 0) / 2, { rel: 1e-15 });
  });

  it("rejects empty, non-square and negative matrices", () => {
    expect(() => classificationMetrics([])).toThrow("classificationMetrics: confusion matrix is empty");
    expect(() => classificationMetrics([[0, 0], [0, 0]])).toThrow("classificationMetrics: confusion matrix has no observations");
    expect(() => classificationMetrics([[1, 2], [3]])).toThrow(/must be square; row 1 has 1 columns, expected 2/);
    expect(() => classificationMetrics([[1, -2], [3, 4]])).toThrow(/finite and >= 0/);
  });
});
