/** The scalar an explanation attributes: one class's probability, or its logit. */
export type OutputSpace = "probability" | "logit";

/** Reads the explained scalar of row r from probabilities laid out [rows, classes]. */
export type OutputReader = (probabilities: Float32Array, row: number) => number;

// Float32 probabilities can underflow to 0 far from the boundary; the log then stays finite.
const FLOOR = 1e-38;

/**
 * Probability: p_k. Logit: log p_k − log p_other for two classes (the log-odds), else log p_k minus
 * the mean log-probability (softmax's input up to a constant shared by all classes). Both logit forms
 * are affine in the inputs of a softmax-of-linear model, which is what makes exact values possible.
 */
export function outputReader(space: OutputSpace, classIndex: number, classes: number): OutputReader {
  if (space === "probability") return (p, r) => p[r * classes + classIndex]!;
  const log = (p: Float32Array, i: number) => Math.log(Math.max(p[i]!, FLOOR));
  if (classes === 2) return (p, r) => log(p, r * 2 + classIndex) - log(p, r * 2 + 1 - classIndex);
  return (p, r) => {
    let mean = 0;
    for (let j = 0; j < classes; j++) mean += log(p, r * classes + j);
    return log(p, r * classes + classIndex) - mean / classes;
  };
}

export function describeOutput(space: OutputSpace, classes: readonly string[], classIndex: number): string {
  const name = classes[classIndex]!;
  if (space === "probability") return `probability of class '${name}'`;
  if (classes.length === 2) return `log-odds of class '${name}': log p('${name}') − log p('${classes[1 - classIndex]}')`;
  return `centred logit of class '${name}': log p('${name}') − mean over classes of log p`;
}
