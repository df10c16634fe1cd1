import { imputationFill } from "./baseline.ts";
import { encodeRows } from "./encode.ts";
import { predictProba } from "./predict.ts";
import { Rng, subSeed } from "./rng.ts";
import type { Example, ModelSchema } from "./schema.ts";
import { trainModel } from "./train.ts";

/** No reference row counts for more than this many average ones: a few look-alikes cannot stand in for the whole new population. */
export const MAX_IMPORTANCE_WEIGHT = 10;

export interface Reweighted {
  /** Drawn with replacement from the reference, in proportion to each row's weight. */
  examples: Example[];
  /** How well reference and current rows can be told apart, as the mean recall of the two (0.5: not at all, whatever their sizes); high means a real shift. */
  domainBalancedAccuracy: number;
  /** Kish's effective sample size of the weights, as a share of the reference rows. */
  effectiveShare: number;
}

/**
 * Importance weights for covariate shift: a domain classifier (logistic regression on the model's
 * features) learns P(current | x) from the reference sample against the post-change rows, and each
 * reference row gets w = P(current|x) / P(reference|x), rescaled by the class sizes and capped.
 * Resampling by w makes the reference look like today's population while keeping its labels, so
 * the candidate learns the new input region from many more rows than the log alone holds. It does
 * nothing for concept drift (P(y|x) moved): the candidate set compares with a log-only recipe.
 */
export function reweightReference(reference: readonly Example[], current: readonly Example[], schema: ModelSchema, size: number, seed: number): Reweighted {
  const domainSchema: ModelSchema = { features: schema.features, classes: ["reference", "current"], label: "domain" };
  const examples = [...reference.map((e) => ({ row: e.row, label: 0 })), ...current.map((e) => ({ row: e.row, label: 1 }))];
  const domain = trainModel({ dataset: { name: "domain", schema: domainSchema, examples }, kind: "logistic", seed: subSeed(seed, "domain") });
  const fill = imputationFill(domain.baseline.features, domainSchema);
  const proba = predictProba(domain.weights, encodeRows(reference.map((e) => e.row), domainSchema, fill), reference.length);
  const prior = reference.length / Math.max(1, current.length);
  const weights = reference.map((_, r) => Math.min(MAX_IMPORTANCE_WEIGHT, (prior * proba[r * 2 + 1]!) / Math.max(1e-6, proba[r * 2]!)));
  return { examples: resample(reference, weights, size, seed), domainBalancedAccuracy: domain.metrics.perClass.reduce((a, c) => a + c.recall, 0) / domain.metrics.perClass.length, effectiveShare: effectiveShare(weights) };
}

/** Systematic resampling: the draw's counts follow the weights closely, with one random offset; returned shuffled. */
function resample(items: readonly Example[], weights: readonly number[], size: number, seed: number): Example[] {
  const total = weights.reduce((a, w) => a + w, 0);
  if (total <= 0 || size <= 0) return [];
  const step = total / size;
  const rng = new Rng(subSeed(seed, "resample"));
  let next = rng.next() * step;
  const out: Example[] = [];
  let cumulative = 0;
  for (let i = 0; i < items.length && out.length < size; i++) {
    cumulative += weights[i]!;
    while (next < cumulative && out.length < size) {
      out.push(items[i]!);
      next += step;
    }
  }
  // Shuffled, so any prefix of the draw is itself a fair draw.
  return rng.shuffle(out);
}

function effectiveShare(weights: readonly number[]): number {
  const sum = weights.reduce((a, w) => a + w, 0);
  const squares = weights.reduce((a, w) => a + w * w, 0);
  return squares > 0 ? (sum * sum) / squares / weights.length : 0;
}
