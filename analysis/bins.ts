import { MISSING_BIN, type FeatureBaseline, type NumericBaseline } from "../models/baseline.ts";
import type { TailMeans } from "../stats/index.ts";

/** One feature's counts over its baseline bins: numeric edges.length + 1 bins, categorical categories + unknown. */
export interface FeatureHistogram {
  counts: number[];
  missing: number;
  /** Bin numbers beyond the baseline's (rows binned against another baseline); left out of the counts. */
  outOfRange: number;
}

export function binCount(feature: FeatureBaseline): number {
  return feature.type === "numeric" ? feature.edges.length + 1 : feature.categories.length + 1;
}

/** The baseline's own histogram. */
export function baselineHistogram(feature: FeatureBaseline): FeatureHistogram {
  return { counts: [...feature.counts], missing: feature.missing, outOfRange: 0 };
}

/** A histogram from SQL's (bin → count) pairs for one feature. */
export function histogramFromBins(feature: FeatureBaseline, bins: ReadonlyMap<number, number> | undefined): FeatureHistogram {
  const counts = new Array<number>(binCount(feature)).fill(0);
  let missing = 0;
  let outOfRange = 0;
  for (const [bin, n] of bins ?? []) {
    if (bin === MISSING_BIN) missing += n;
    else if (bin < counts.length) counts[bin]! += n;
    else outOfRange += n;
  }
  return { counts, missing, outOfRange };
}

export const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

/** A run of consecutive baseline bins shown (and scored by PSI) as one. */
export interface BinGroup {
  /** First and last baseline bin, inclusive. */
  first: number;
  last: number;
  /** Value range: [from, to) from the baseline edges; the outer ends are the baseline's min and max. */
  from: number;
  to: number;
}

/**
 * Merges a numeric feature's (up to 100) percentile bins into about `target` groups of equal
 * reference mass: a group closes once the cumulative reference share reaches the next k/target.
 * Fewer groups come out when a few values hold most of the mass (a count feature, say).
 */
export function mergeNumericBins(feature: Extract<FeatureBaseline, { type: "numeric" }>, target = 10): BinGroup[] {
  const counts = feature.counts;
  const total = sum(counts);
  const groups: BinGroup[] = [];
  let first = 0;
  let cumulative = 0;
  let next = 1;
  for (let i = 0; i < counts.length; i++) {
    cumulative += counts[i]!;
    const close = total > 0 ? cumulative >= (total * next) / target - 1e-9 : (i + 1) % Math.ceil(counts.length / target) === 0;
    if (close || i === counts.length - 1) {
      groups.push({
        first,
        last: i,
        from: first === 0 ? feature.min : feature.edges[first - 1]!,
        to: i === counts.length - 1 ? feature.max : feature.edges[i]!,
      });
      first = i + 1;
      while (total > 0 && next <= target && cumulative >= (total * next) / target - 1e-9) next++;
    }
  }
  return groups;
}

/** Counts summed per group. */
export function groupCounts(counts: readonly number[], groups: readonly BinGroup[]): number[] {
  return groups.map((g) => sum(counts.slice(g.first, g.last + 1)));
}

/**
 * The histogram PSI ranks features on: merged bins for numeric features (about ten of equal reference
 * mass, where PSI's usual thresholds apply; on 100 bins its sampling noise alone nears 0.1 at a few
 * thousand rows), every category plus unknown for categorical ones, and missing values as one more bin.
 */
export function psiBins(feature: FeatureBaseline, h: FeatureHistogram): number[] {
  const counts = feature.type === "numeric" ? groupCounts(h.counts, mergeNumericBins(feature)) : h.counts;
  return [...counts, h.missing];
}

/**
 * The baseline's outer-bin means, from its reservoir sample (the training values themselves are
 * not kept): about 1% of 2,000 values fall in each outer bin, enough for a mean. Null when none does.
 */
export function sampleTailMeans(feature: NumericBaseline): TailMeans {
  const first = feature.edges[0];
  const last = feature.edges[feature.edges.length - 1];
  if (first === undefined || last === undefined) return { low: null, high: null };
  return { low: meanOf(feature.sample.filter((v) => v < first)), high: meanOf(feature.sample.filter((v) => v >= last)) };
}

const meanOf = (values: readonly number[]): number | null => (values.length > 0 ? sum(values) / values.length : null);
