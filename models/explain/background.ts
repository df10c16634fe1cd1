import type { CategoricalBaseline, FeatureBaseline, ModelBaseline, NumericBaseline } from "../baseline.ts";
import { Rng, subSeed } from "../rng.ts";
import type { FeatureValue, ModelSchema, Row } from "../schema.ts";

/** What E[f] is taken over, named in every explanation. */
export interface Background {
  rows: Row[];
  source: "baseline-marginals";
  description: string;
}

export const DEFAULT_BACKGROUND_ROWS = 100;

/**
 * Background rows built from the version's stored baseline, which every version has (native and
 * imported alike) and which needs no raw log: each numeric feature at n evenly spaced quantiles of
 * its reference sample, each categorical feature in its reference shares, missing values in their
 * reference share, every column shuffled on its own. The baseline keeps marginals, not joint rows,
 * so the background treats features as independent — the usual interventional assumption.
 */
export function baselineBackground(schema: ModelSchema, baseline: ModelBaseline, version: string, n = DEFAULT_BACKGROUND_ROWS): Background {
  const byName = new Map(baseline.features.map((f) => [f.name, f]));
  const columns = schema.features.map((spec) => {
    const feature = byName.get(spec.name);
    if (!feature) throw new Error(`baseline of version ${version} has no feature '${spec.name}'`);
    return new Rng(subSeed(n, `background:${spec.name}`)).shuffle(column(feature, n));
  });
  const rows = Array.from({ length: n }, (_, r) => Object.fromEntries(schema.features.map((f, j) => [f.name, columns[j]![r]!])) as Row);
  return {
    rows,
    source: "baseline-marginals",
    description:
      `${n} rows built from version ${version}'s stored baseline (${baseline.size} reference rows): numeric features at ${n} quantiles of ` +
      "their reference sample, categorical features in their reference shares, missing values in their reference share; " +
      "columns drawn independently (features treated as independent)",
  };
}

function column(feature: FeatureBaseline, n: number): FeatureValue[] {
  return feature.type === "numeric" ? numericColumn(feature, n) : categoricalColumn(feature, n);
}

function numericColumn(feature: NumericBaseline, n: number): FeatureValue[] {
  const sorted = Float64Array.from(feature.sample).sort();
  const missing = sorted.length === 0 ? n : Math.round((n * feature.missing) / Math.max(1, feature.count));
  const present = n - missing;
  const values: FeatureValue[] = Array.from({ length: present }, (_, r) => quantile(sorted, (r + 0.5) / present));
  return [...values, ...new Array<FeatureValue>(missing).fill(null)];
}

/** Reference counts (categories, then unseen, then missing) apportioned to n rows by largest remainder. */
function categoricalColumn(feature: CategoricalBaseline, n: number): FeatureValue[] {
  // Unseen reference values have no name left; the empty string reaches the model's unknown slot as they did.
  const values: FeatureValue[] = [...feature.categories, "", null];
  const counts = [...feature.counts, feature.missing];
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return new Array<FeatureValue>(n).fill(feature.categories[0] ?? null);
  const exact = counts.map((c) => (n * c) / total);
  const shares = exact.map(Math.floor);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0]);
  for (let k = 0; k < n - shares.reduce((a, b) => a + b, 0); k++) shares[order[k]![1]]!++;
  return shares.flatMap((count, i) => new Array<FeatureValue>(count).fill(values[i]!));
}

function quantile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}
