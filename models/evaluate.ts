/** Quality of predicted probabilities against true labels on one split. */
export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** True rows of this class. */
  support: number;
}

export interface Evaluation {
  accuracy: number;
  logLoss: number;
  perClass: ClassMetrics[];
}

/** Probabilities are clipped here before the log, so one confident mistake cannot make the loss infinite. */
const PROBABILITY_FLOOR = 1e-7;

/** proba: row-major [labels.length, classes.length]. */
export function evaluate(proba: Float32Array, labels: ArrayLike<number>, classes: readonly string[]): Evaluation {
  const n = labels.length;
  const c = classes.length;
  if (proba.length !== n * c) throw new Error(`evaluate: expected ${n}×${c} probabilities, got ${proba.length}`);
  const confusion = confusionMatrix(proba, labels, c);
  let correct = 0;
  let loss = 0;
  for (let r = 0; r < n; r++) {
    const y = labels[r]!;
    if (argmax(proba, r * c, c) === y) correct++;
    loss -= Math.log(Math.max(proba[r * c + y]!, PROBABILITY_FLOOR));
  }
  return {
    accuracy: n > 0 ? correct / n : 0,
    logLoss: n > 0 ? loss / n : 0,
    perClass: classes.map((label, k) => classMetrics(label, k, confusion, c)),
  };
}

/** Index of the largest of proba[offset..offset+width); the first wins ties, as in ONNX ArgMax. */
export function argmax(proba: ArrayLike<number>, offset: number, width: number): number {
  let best = 0;
  for (let j = 1; j < width; j++) if (proba[offset + j]! > proba[offset + best]!) best = j;
  return best;
}

/** counts[truth * c + predicted]. */
function confusionMatrix(proba: Float32Array, labels: ArrayLike<number>, c: number): Int32Array {
  const counts = new Int32Array(c * c);
  for (let r = 0; r < labels.length; r++) counts[labels[r]! * c + argmax(proba, r * c, c)]!++;
  return counts;
}

function classMetrics(label: string, k: number, confusion: Int32Array, c: number): ClassMetrics {
  let predicted = 0;
  let actual = 0;
  for (let j = 0; j < c; j++) {
    predicted += confusion[j * c + k]!;
    actual += confusion[k * c + j]!;
  }
  const hits = confusion[k * c + k]!;
  // A class never predicted (or never present) gets 0 rather than NaN, as scikit-learn's zero_division=0.
  const precision = predicted > 0 ? hits / predicted : 0;
  const recall = actual > 0 ? hits / actual : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { label, precision, recall, f1, support: actual };
}
