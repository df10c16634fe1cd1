// Drift methods behind one interface, and the default choice per feature, after Evidently's
// stattests registry (evidently/legacy/calculations/stattests/registry.py).
import { chiSquare } from "./chi-square.ts";
import { jensenShannonDistance } from "./jensen-shannon.ts";
import { ksBinned, ksSamples } from "./ks.ts";
import { psi } from "./psi.ts";
import { type BinnedRange, wassersteinBinned, wassersteinSamples } from "./wasserstein.ts";

export type FeatureType = "numeric" | "categorical";

const P_VALUE_THRESHOLD = 0.05;
// Evidently's default for PSI, Wasserstein (normed) and Jensen–Shannon alike.
const DISTANCE_THRESHOLD = 0.1;
export type DriftMethodName = "ks" | "chisquare" | "psi" | "wasserstein" | "jensenshannon";

/** Reference and current counts over the same bins, as aggregated by ClickHouse. */
export interface HistogramInput {
  readonly kind: "histogram";
  readonly refCounts: readonly number[];
  readonly curCounts: readonly number[];
  /** Numeric features: interior bin edges and the observed range; required by Wasserstein. */
  readonly numeric?: { readonly edges: readonly number[]; readonly range: BinnedRange };
}

/** Raw values (up to a few thousand per side). */
export interface SamplesInput {
  readonly kind: "samples";
  readonly ref: readonly number[];
  readonly cur: readonly number[];
}

export type DriftInput = HistogramInput | SamplesInput;

/** What one drift test says of one feature. */
export interface DriftTestResult {
  readonly method: DriftMethodName;
  /** Test statistic (KS D, χ²) for p-value methods; the distance itself (PSI, Wasserstein, JS) otherwise. */
  readonly score: number;
  /** Only for p-value methods. */
  readonly pValue?: number;
  readonly threshold: number;
  readonly drifted: boolean;
}

/** "p-value-below": drift when pValue < threshold. "score-at-least": drift when score ≥ threshold. */
export type DriftDirection = "p-value-below" | "score-at-least";

export interface DriftMethod {
  readonly name: DriftMethodName;
  readonly featureTypes: readonly FeatureType[];
  readonly defaultThreshold: number;
  readonly direction: DriftDirection;
  /** Throws if the method cannot use this input form (e.g. PSI on raw samples). */
  run(input: DriftInput, threshold?: number): DriftTestResult;
}

function pValueMethod(
  name: DriftMethodName,
  featureTypes: readonly FeatureType[],
  test: (input: DriftInput) => { statistic: number; pValue: number },
): DriftMethod {
  return {
    name,
    featureTypes,
    defaultThreshold: P_VALUE_THRESHOLD,
    direction: "p-value-below",
    run(input, threshold = P_VALUE_THRESHOLD) {
      checkThreshold(name, threshold);
      const { statistic, pValue } = test(input);
      return { method: name, score: statistic, pValue, threshold, drifted: pValue < threshold };
    },
  };
}

function distanceMethod(
  name: DriftMethodName,
  featureTypes: readonly FeatureType[],
  distance: (input: DriftInput) => number,
): DriftMethod {
  return {
    name,
    featureTypes,
    defaultThreshold: DISTANCE_THRESHOLD,
    direction: "score-at-least",
    run(input, threshold = DISTANCE_THRESHOLD) {
      checkThreshold(name, threshold);
      const score = distance(input);
      return { method: name, score, threshold, drifted: score >= threshold };
    },
  };
}

function checkThreshold(name: string, threshold: number): void {
  if (!(threshold >= 0) || threshold === Infinity) throw new Error(`${name}: threshold must be finite and >= 0, got ${threshold}`);
}

function histogramOnly(name: string, input: DriftInput): HistogramInput {
  if (input.kind !== "histogram") throw new Error(`${name} needs histogram input, got raw samples`);
  return input;
}

export const driftMethods: Readonly<Record<DriftMethodName, DriftMethod>> = {
  ks: pValueMethod("ks", ["numeric"], (input) =>
    input.kind === "samples" ? ksSamples(input.ref, input.cur) : ksBinned(input.refCounts, input.curCounts),
  ),
  chisquare: pValueMethod("chisquare", ["categorical", "numeric"], (input) => {
    const h = histogramOnly("chisquare", input);
    return chiSquare(h.refCounts, h.curCounts);
  }),
  psi: distanceMethod("psi", ["categorical", "numeric"], (input) => {
    const h = histogramOnly("psi", input);
    return psi(h.refCounts, h.curCounts);
  }),
  wasserstein: distanceMethod("wasserstein", ["numeric"], (input) => {
    if (input.kind === "samples") return wassersteinSamples(input.ref, input.cur);
    if (!input.numeric) throw new Error("wasserstein needs numeric bin edges and range with histogram input");
    return wassersteinBinned(input.numeric.edges, input.refCounts, input.curCounts, input.numeric.range);
  }),
  jensenshannon: distanceMethod("jensenshannon", ["categorical", "numeric"], (input) => {
    const h = histogramOnly("jensenshannon", input);
    return jensenShannonDistance(h.refCounts, h.curCounts);
  }),
};

export interface FeatureProfile {
  readonly type: FeatureType;
  /** Distinct values over reference ∪ current (categories for categorical features). */
  readonly uniqueValues: number;
  /** Number of reference rows (Evidently decides on the reference size). */
  readonly sampleSize: number;
}

/**
 * Default method, following Evidently's _get_default_stattest:
 *  - numeric with > 5 unique values: KS when sampleSize ≤ 1000, else Wasserstein;
 *  - categorical, or numeric with ≤ 5 unique values: chi-square when sampleSize ≤ 1000, else
 *    Jensen–Shannon.
 * Evidently uses a two-proportion z-test instead of chi-square for ≤ 2 categories; we use
 * chi-square there too, since our inputs are per-bin counts and chi-square covers that case.
 */
export function selectMethod(feature: FeatureProfile): DriftMethod {
  const { type, uniqueValues, sampleSize } = feature;
  if (!(uniqueValues >= 0) || !(sampleSize >= 0)) {
    throw new Error(`selectMethod: uniqueValues and sampleSize must be >= 0, got ${uniqueValues} and ${sampleSize}`);
  }
  const small = sampleSize <= 1000;
  if (type === "numeric" && uniqueValues > 5) return small ? driftMethods.ks : driftMethods.wasserstein;
  return small ? driftMethods.chisquare : driftMethods.jensenshannon;
}
