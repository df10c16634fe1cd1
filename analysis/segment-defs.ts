import { MISSING_BIN, type FeatureBaseline } from "../models/baseline.ts";
import { mergeNumericBins } from "./bins.ts";

/** A slice of traffic defined on one feature through its baseline bins, so it exists in hash mode too. */
export interface SegmentDef {
  feature: string;
  type: "numeric" | "categorical";
  kind: "range" | "category" | "unseen" | "missing";
  /** What a person reads: `income in [31200, 44800)`, `region = east`. */
  label: string;
  /** Numeric ranges: [from, to) from the baseline's quantile edges; the outer ends are its min and max. */
  from?: number;
  to?: number;
  /** Categories. */
  value?: string;
}

export interface FeatureSegments {
  defs: SegmentDef[];
  /** Segment index of a logged bin; −1 for a bin outside the baseline's (logged against another one). */
  segmentOf(bin: number): number;
  /** The baseline bins segment s covers. */
  binsOf(segment: number): number[];
}

export const DEFAULT_NUMERIC_SEGMENTS = 5;

/**
 * Numeric features: the baseline's percentile bins merged into about `numericSegments` ranges of
 * equal reference mass (fewer, wider segments than drift's ten: each needs labelled rows enough for
 * a test), plus missing. Categorical: each category, values unseen in training, and missing.
 */
export function featureSegments(feature: FeatureBaseline, numericSegments = DEFAULT_NUMERIC_SEGMENTS): FeatureSegments {
  const base = { feature: feature.name, type: feature.type };
  const missing: SegmentDef = { ...base, kind: "missing", label: `${feature.name} missing` };
  if (feature.type === "categorical") {
    const k = feature.categories.length;
    const defs: SegmentDef[] = [
      ...feature.categories.map((value): SegmentDef => ({ ...base, kind: "category", label: `${feature.name} = ${value}`, value })),
      { ...base, kind: "unseen", label: `${feature.name} unseen in training` },
      missing,
    ];
    return { defs, segmentOf: (bin) => (bin === MISSING_BIN ? k + 1 : bin <= k ? bin : -1), binsOf: (s) => [s === k + 1 ? MISSING_BIN : s] };
  }
  const groups = mergeNumericBins(feature, numericSegments);
  const byBin = new Map<number, number>();
  groups.forEach((g, s) => {
    for (let b = g.first; b <= g.last; b++) byBin.set(b, s);
  });
  const defs: SegmentDef[] = [
    ...groups.map((g): SegmentDef => ({ ...base, kind: "range", label: `${feature.name} in [${num(g.from)}, ${num(g.to)})`, from: g.from, to: g.to })),
    missing,
  ];
  return {
    defs,
    segmentOf: (bin) => (bin === MISSING_BIN ? groups.length : (byBin.get(bin) ?? -1)),
    binsOf: (s) => {
      const g = groups[s];
      return g ? Array.from({ length: g.last - g.first + 1 }, (_, i) => g.first + i) : [MISSING_BIN];
    },
  };
}

function num(x: number): string {
  return Number(x.toPrecision(4)).toString();
}
