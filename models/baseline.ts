import { argmax } from "./evaluate.ts";
import { Rng, subSeed } from "./rng.ts";
import type { FeatureImportance, ImportanceRun } from "./importance.ts";
import type { FeatureSpec, FeatureValue, ModelSchema, Row } from "./schema.ts";

/**
 * Reference statistics saved with a model version: what "normal" looked like at training time,
 * for drift detection and performance estimation. Feature statistics come from the training
 * (reference) rows; prediction statistics from the model's outputs on the held-out split,
 * because predictions on rows the model was fitted on are over-confident.
 */
export interface NumericBaseline {
  name: string;
  type: "numeric";
  /** Reference rows, missing included. */
  count: number;
  missing: number;
  /** Over the present values; also the value missing inputs are imputed with (imputationFill). */
  mean: number;
  std: number;
  min: number;
  max: number;
  /** Interior bin edges: the 1st..99th percentiles of the reference values, deduplicated, strictly increasing. */
  edges: number[];
  /** Reference counts per bin, length edges.length + 1; bin i = values v with edges[i-1] <= v < edges[i]. */
  counts: number[];
  /** Up to SAMPLE_SIZE reference values (seeded reservoir sample) for sample-based tests. */
  sample: number[];
  /** Added at registration (models/importance.ts); absent on versions registered before, or without labelled reference rows. */
  importance?: FeatureImportance;
}

export interface CategoricalBaseline {
  name: string;
  type: "categorical";
  count: number;
  missing: number;
  categories: string[];
  /** Length categories.length + 1; the last slot counts unknown/unseen values. */
  counts: number[];
  /** As NumericBaseline.importance. */
  importance?: FeatureImportance;
}

export type FeatureBaseline = NumericBaseline | CategoricalBaseline;

export interface ModelBaseline {
  /** Reference (training) rows the feature statistics describe. */
  size: number;
  features: FeatureBaseline[];
  /** Held-out split: predicted class counts, in schema.classes order. */
  predictionCounts: number[];
  /** Held-out split: true class counts. */
  labelCounts: number[];
  /** Held-out accuracy. */
  accuracy: number;
  /** Interior edges of 10 equal bins over [0, 1] (0.1 … 0.9), same bin rule as NumericBaseline.edges. */
  confidenceEdges: number[];
  /** Held-out split: counts of the max probability per confidence bin (length 10). */
  confidenceCounts: number[];
  /** Up to CALIBRATION_SIZE held-out (max probability, 1 if the prediction was right else 0) pairs, for CBPE. */
  calibration: { confidence: number[]; correct: number[] };
  /** How the features' importances were measured; absent when they were not. */
  importance?: ImportanceRun;
}

/** Bin of a missing value; edges are capped so every real bin fits a UInt8 below it. */
export const MISSING_BIN = 255;
export const SAMPLE_SIZE = 2000;
export const CALIBRATION_SIZE = 5000;
const CONFIDENCE_BINS = 10;

/** Numeric: 0..edges.length; categorical: index in categories, categories.length for unseen; missing: MISSING_BIN. */
export function binIndex(value: FeatureValue | undefined, feature: FeatureBaseline): number {
  if (feature.type === "numeric") {
    // Non-finite and non-numeric values are what encodeRows imputes, so they count as missing here too.
    return typeof value === "number" && Number.isFinite(value) ? upperBound(feature.edges, value) : MISSING_BIN;
  }
  if (value === null || value === undefined) return MISSING_BIN;
  return categoryLookup(feature).get(typeof value === "string" ? value : String(value)) ?? feature.categories.length;
}

/** One bin per feature, in baseline.features order. */
export function binRow(row: Row, baseline: ModelBaseline): number[] {
  const features = baseline.features;
  const bins = new Array<number>(features.length);
  for (let i = 0; i < features.length; i++) bins[i] = binIndex(row[features[i]!.name], features[i]!);
  return bins;
}

// Serving bins every logged row against the same loaded baseline: build each category map once.
const lookups = new WeakMap<CategoricalBaseline, Map<string, number>>();

function categoryLookup(feature: CategoricalBaseline): Map<string, number> {
  let lookup = lookups.get(feature);
  if (!lookup) {
    lookup = new Map(feature.categories.map((c, i) => [c, i]));
    lookups.set(feature, lookup);
  }
  return lookup;
}

/** Number of edges <= value: the bin where edges[i-1] <= value < edges[i]. */
function upperBound(edges: readonly number[], value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The per-numeric-feature values encodeRows should impute missing inputs with: the reference means. */
export function imputationFill(features: readonly FeatureBaseline[], schema: ModelSchema): number[] {
  const byName = new Map(features.map((f) => [f.name, f]));
  return schema.features
    .filter((f) => f.type === "numeric")
    .map((f) => {
      const b = byName.get(f.name);
      if (b?.type !== "numeric") throw new Error(`baseline has no numeric feature '${f.name}'`);
      return b.mean;
    });
}

/** Statistics of each schema feature over the reference rows. */
export function featureBaselines(rows: readonly Row[], schema: ModelSchema, seed: number): FeatureBaseline[] {
  return schema.features.map((f) => featureBaseline(rows, f, seed));
}

function featureBaseline(rows: readonly Row[], spec: FeatureSpec, seed: number): FeatureBaseline {
  if (spec.type === "categorical") return categoricalBaseline(rows, spec.name, spec.categories);
  const values: number[] = [];
  for (const row of rows) {
    const v = row[spec.name];
    if (typeof v === "number" && Number.isFinite(v)) values.push(v);
  }
  return numericBaseline(spec.name, rows.length, values, new Rng(subSeed(seed, `sample:${spec.name}`)));
}

function categoricalBaseline(rows: readonly Row[], name: string, categories: string[]): CategoricalBaseline {
  const feature: CategoricalBaseline = { name, type: "categorical", count: rows.length, missing: 0, categories: [...categories], counts: [] };
  const counts = new Array<number>(categories.length + 1).fill(0);
  for (const row of rows) {
    const bin = binIndex(row[name], feature);
    if (bin === MISSING_BIN) feature.missing++;
    else counts[bin]!++;
  }
  feature.counts = counts;
  return feature;
}

function numericBaseline(name: string, count: number, values: number[], rng: Rng): NumericBaseline {
  const sorted = Float64Array.from(values).sort();
  const edges = percentileEdges(sorted);
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of sorted) counts[upperBound(edges, v)]!++;
  const { mean, std } = moments(sorted);
  return {
    name,
    type: "numeric",
    count,
    missing: count - values.length,
    mean,
    std,
    min: sorted.length > 0 ? sorted[0]! : 0,
    max: sorted.length > 0 ? sorted[sorted.length - 1]! : 0,
    edges,
    counts,
    sample: reservoir(values, SAMPLE_SIZE, rng),
  };
}

/** The 1st..99th percentiles (linear interpolation, as numpy's default), duplicates dropped. */
function percentileEdges(sorted: Float64Array): number[] {
  const edges: number[] = [];
  if (sorted.length === 0) return edges;
  for (let p = 1; p <= 99; p++) {
    const q = quantile(sorted, p / 100);
    if (edges.length === 0 || q > edges[edges.length - 1]!) edges.push(q);
  }
  return edges;
}

function quantile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Mean and population standard deviation; 0 and 0 for no values. */
function moments(values: Float64Array): { mean: number; std: number } {
  if (values.length === 0) return { mean: 0, std: 0 };
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let squares = 0;
  for (const v of values) squares += (v - mean) ** 2;
  return { mean, std: Math.sqrt(squares / values.length) };
}

/** Algorithm R: a uniform sample of k items in one pass, in the order they were kept. */
function reservoir<T>(items: readonly T[], k: number, rng: Rng): T[] {
  const kept = items.slice(0, k);
  for (let i = k; i < items.length; i++) {
    const j = rng.int(i + 1);
    if (j < k) kept[j] = items[i]!;
  }
  return kept;
}

/** The model's outputs on the held-out split. */
export interface HeldOutPredictions {
  /** Row-major [labels.length, classes]. */
  proba: Float32Array;
  labels: ArrayLike<number>;
  classes: number;
}

/** Combines feature baselines (featureBaselines over the reference rows) with held-out prediction statistics. */
export function computeBaseline(features: FeatureBaseline[], heldOut: HeldOutPredictions, seed: number): ModelBaseline {
  const { proba, labels, classes } = heldOut;
  const confidenceEdges = Array.from({ length: CONFIDENCE_BINS - 1 }, (_, i) => (i + 1) / CONFIDENCE_BINS);
  const predictionCounts = new Array<number>(classes).fill(0);
  const labelCounts = new Array<number>(classes).fill(0);
  const confidenceCounts = new Array<number>(CONFIDENCE_BINS).fill(0);
  const confidence: number[] = [];
  const correct: number[] = [];
  for (let r = 0; r < labels.length; r++) {
    const predicted = argmax(proba, r * classes, classes);
    const p = proba[r * classes + predicted]!;
    predictionCounts[predicted]!++;
    labelCounts[labels[r]!]!++;
    confidenceCounts[upperBound(confidenceEdges, p)]!++;
    confidence.push(p);
    correct.push(predicted === labels[r] ? 1 : 0);
  }
  const accuracy = labels.length > 0 ? correct.reduce((a, b) => a + b, 0) / labels.length : 0;
  const keep = sampledIndices(labels.length, CALIBRATION_SIZE, new Rng(subSeed(seed, "calibration")));
  return {
    size: features[0]?.count ?? 0,
    features,
    predictionCounts,
    labelCounts,
    accuracy,
    confidenceEdges,
    confidenceCounts,
    calibration: { confidence: keep.map((i) => confidence[i]!), correct: keep.map((i) => correct[i]!) },
  };
}

/** Up to k row indices, uniformly chosen, in ascending order so the pairs keep the split's order. */
function sampledIndices(n: number, k: number, rng: Rng): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  return reservoir(all, k, rng).sort((a, b) => a - b);
}
