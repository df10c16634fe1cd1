import { Rng } from "../rng.ts";
import type { Dataset, Example, ModelSchema } from "../schema.ts";

export interface HyperplaneOptions {
  dims?: number;
  /** 0 = the original concept; 1 = weights turned a right angle away, so half the labels disagree with it. */
  rotation?: number;
  /** Probability that a label is flipped. */
  noise?: number;
}

/**
 * The concept depends on the dimension only, never on the data seed: datasets drawn with
 * different seeds (training vs fresh evaluation data) must share one labelling rule.
 */
const CONCEPT_SEED = 0x5eed;

export function hyperplaneSchema(dims: number): ModelSchema {
  return {
    features: Array.from({ length: dims }, (_, i) => ({ name: `x${i}`, type: "numeric" as const })),
    classes: ["negative", "positive"],
    label: "y",
  };
}

/** Label = [w·x > 0] with x ~ N(0, I), then flipped with probability `noise`. */
export function generateHyperplane(n: number, seed: number, options: HyperplaneOptions = {}): Dataset {
  const { dims = 10, rotation = 0, noise = 0.02 } = options;
  if (!Number.isInteger(dims) || dims < 2) throw new Error(`hyperplane: dims must be an integer >= 2, not ${dims}`);
  if (!(rotation >= 0 && rotation <= 1)) throw new Error(`hyperplane: rotation must be in [0, 1], not ${rotation}`);
  if (!(noise >= 0 && noise <= 0.5)) throw new Error(`hyperplane: noise must be in [0, 0.5], not ${noise}`);
  const w = hyperplaneWeights(dims, rotation);
  const rng = new Rng(seed);
  const examples: Example[] = [];
  for (let i = 0; i < n; i++) {
    const x = Array.from({ length: dims }, () => rng.normal());
    const clean = dot(w, x) > 0 ? 1 : 0;
    const label = rng.next() < noise ? 1 - clean : clean;
    examples.push({ row: Object.fromEntries(x.map((v, j) => [`x${j}`, v])), label });
  }
  return { name: `hyperplane(n=${n}, seed=${seed}, dims=${dims}, rotation=${rotation}, noise=${noise})`, schema: hyperplaneSchema(dims), examples };
}

/**
 * Unit weights w(r) = cos(rπ/2)·w₀ + sin(rπ/2)·u with u ⟂ w₀, so the angle to the original concept
 * grows linearly with r and, for Gaussian x, the clean labels agree on a share 1 − r/2 of points.
 */
export function hyperplaneWeights(dims: number, rotation: number): number[] {
  const rng = new Rng(CONCEPT_SEED + dims);
  const w0 = normalize(Array.from({ length: dims }, () => rng.normal()));
  const raw = Array.from({ length: dims }, () => rng.normal());
  const along = dot(raw, w0);
  const u = normalize(raw.map((v, i) => v - along * w0[i]!));
  const angle = (rotation * Math.PI) / 2;
  return w0.map((v, i) => Math.cos(angle) * v + Math.sin(angle) * u[i]!);
}

function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

function normalize(v: number[]): number[] {
  const norm = Math.sqrt(dot(v, v));
  return v.map((x) => x / norm);
}
