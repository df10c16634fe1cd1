// Classification metrics from a confusion matrix (rows = true class, columns = predicted class).
// Convention: any 0/0 (precision of a never-predicted class, recall of an absent class, F1 when
// both are 0) is 0, like scikit-learn's zero_division=0.

export interface ClassMetrics {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Number of rows whose true class is this one. */
  readonly support: number;
}

export interface ClassificationMetrics {
  readonly accuracy: number;
  /** In matrix order. */
  readonly perClass: ClassMetrics[];
  /**
   * Unweighted mean F1 over classes that occur as a true or a predicted label. A class with
   * neither is left out, as scikit-learn does when labels are inferred from the data.
   */
  readonly macroF1: number;
}

const ratio = (numerator: number, denominator: number): number => (denominator === 0 ? 0 : numerator / denominator);

/** Accuracy, per-class precision/recall/F1/support and macro-F1 from a square confusion matrix. */
export function classificationMetrics(matrix: readonly (readonly number[])[]): ClassificationMetrics {
  const k = matrix.length;
  if (k === 0) throw new Error("classificationMetrics: confusion matrix is empty");
  const predicted = new Array<number>(k).fill(0);
  const support = new Array<number>(k).fill(0);
  let total = 0;
  let correct = 0;
  for (let i = 0; i < k; i++) {
    const row = matrix[i]!;
    if (row.length !== k) throw new Error(`classificationMetrics: matrix must be square; row ${i} has ${row.length} columns, expected ${k}`);
    for (let j = 0; j < k; j++) {
      const count = row[j]!;
      if (!(count >= 0) || count === Infinity) throw new Error(`classificationMetrics: counts must be finite and >= 0, got ${count} at [${i}][${j}]`);
      support[i]! += count;
      predicted[j]! += count;
    }
    total += support[i]!;
    correct += row[i]!;
  }
  if (total === 0) throw new Error("classificationMetrics: confusion matrix has no observations");
  let f1Sum = 0;
  let presentClasses = 0;
  const perClass = matrix.map((row, i): ClassMetrics => {
    const precision = ratio(row[i]!, predicted[i]!);
    const recall = ratio(row[i]!, support[i]!);
    // 2TP / (2TP + FP + FN), the harmonic mean of precision and recall without their rounding.
    const f1 = ratio(2 * row[i]!, support[i]! + predicted[i]!);
    if (support[i]! > 0 || predicted[i]! > 0) {
      f1Sum += f1;
      presentClasses++;
    }
    return { precision, recall, f1, support: support[i]! };
  });
  return { accuracy: correct / total, perClass, macroF1: f1Sum / presentClasses };
}
