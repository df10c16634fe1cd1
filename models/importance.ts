import { imputationFill, type ModelBaseline } from "./baseline.ts";
import { argmax } from "./evaluate.ts";
import type { Scorer } from "./import/io-scorer.ts";
import { Rng, subSeed } from "./rng.ts";
import { openSessionOf, sessionScorer } from "./session-scorer.ts";
import type { Example, ModelSchema, Row } from "./schema.ts";

/** One feature's permutation importance: how much accuracy the model loses when the feature's column is shuffled. */
export interface FeatureImportance {
  /** Mean over the repeats of (accuracy on the rows − accuracy with this column permuted); negative when shuffling helped by chance. */
  accuracyDrop: number;
  /** Standard error of that mean over the repeats: the permutation's own noise. */
  standardError: number;
}

/** How a version's importances were measured. */
export interface ImportanceRun {
  metric: "accuracy";
  /** Reference rows scored (a seeded sample when there were more). */
  rows: number;
  repeats: number;
  seed: number;
  /** The model's accuracy on those rows, unpermuted. */
  accuracy: number;
}

export interface Importances {
  run: ImportanceRun;
  /** In schema.features order. */
  features: FeatureImportance[];
}

/** Enough rows that a drop of half a point is well above the sampling noise; few enough that registration stays fast. */
export const IMPORTANCE_MAX_ROWS = 5000;
/** Five shuffles give each importance a standard error; more buy little at the price of registration time. */
export const IMPORTANCE_REPEATS = 5;
/** Fixed, so the same model on the same rows always gets the same importances. */
export const IMPORTANCE_SEED = 1;
const CHUNK_ROWS = 8192;

/**
 * Permutation importance through the model's real scorer (Breiman; scikit-learn's
 * permutation_importance): for each feature and repeat, the feature's column is permuted across the
 * rows and the accuracy lost is measured; whole rows are mixed, so native and imported graphs are
 * treated alike.
 */
export async function permutationImportance(scorer: Scorer, schema: ModelSchema, examples: readonly Example[], options: { maxRows?: number; repeats?: number; seed?: number } = {}): Promise<Importances> {
  const { maxRows = IMPORTANCE_MAX_ROWS, repeats = IMPORTANCE_REPEATS, seed = IMPORTANCE_SEED } = options;
  if (examples.length === 0) throw new Error("permutation importance needs labelled rows");
  if (!(Number.isInteger(repeats) && repeats >= 2)) throw new Error(`permutation importance needs at least 2 repeats for a standard error, not ${repeats}`);
  const sample = examples.length <= maxRows ? [...examples] : new Rng(subSeed(seed, "importance-rows")).shuffle([...examples]).slice(0, maxRows);
  const rows = sample.map((e) => e.row);
  const labels = sample.map((e) => e.label);
  const accuracy = await accuracyOf(scorer, rows, labels, schema.classes.length);
  const features: FeatureImportance[] = [];
  for (const { name } of schema.features) {
    const drops: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const order = new Rng(subSeed(seed, `importance:${name}:${r}`)).shuffle(rows.map((_, i) => i));
      const permuted = rows.map((row, i) => ({ ...row, [name]: rows[order[i]!]![name] ?? null }));
      drops.push(accuracy - (await accuracyOf(scorer, permuted, labels, schema.classes.length)));
    }
    features.push(meanAndError(drops));
  }
  return { run: { metric: "accuracy", rows: rows.length, repeats, seed, accuracy }, features };
}

/**
 * Importances of a version about to be registered, from its ONNX bytes and its reference examples;
 * null without labelled examples (an import without a label column), whose importance stays unknown.
 */
export async function versionImportance(onnx: Uint8Array, schema: ModelSchema, baseline: ModelBaseline, examples: readonly Example[] | undefined): Promise<Importances | null> {
  if (!examples || examples.length === 0) return null;
  const session = await openSessionOf(onnx);
  try {
    const scorer = sessionScorer(session, schema, imputationFill(baseline.features, schema), "the version being registered");
    return await permutationImportance(scorer, schema, examples);
  } finally {
    await session.release();
  }
}

/** The baseline with each feature's importance and the run beside them, as they are stored. */
export function withImportance(baseline: ModelBaseline, importances: Importances | null): ModelBaseline {
  if (!importances) return baseline;
  return { ...baseline, importance: importances.run, features: baseline.features.map((f, i) => ({ ...f, importance: importances.features[i]! })) };
}

async function accuracyOf(scorer: Scorer, rows: readonly Row[], labels: readonly number[], classes: number): Promise<number> {
  let right = 0;
  for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
    const chunk = rows.slice(start, start + CHUNK_ROWS);
    const proba = await scorer.run(scorer.encode(chunk), chunk.length);
    for (let r = 0; r < chunk.length; r++) if (argmax(proba, r * classes, classes) === labels[start + r]) right++;
  }
  return right / rows.length;
}

function meanAndError(values: readonly number[]): FeatureImportance {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { accuracyDrop: mean, standardError: Math.sqrt(variance / n) };
}
