// Public API of the statistics package: pure functions, numbers in, numbers out.
export { chiSquareSurvival, logGamma, normalCdf, normalQuantile, regularizedGammaP, regularizedGammaQ, Z_95 } from "./special.ts";
export { kolmogorovSurvival } from "./kolmogorov.ts";

export { ksBinned, ksSamples, type KsResult } from "./drift/ks.ts";
export { chiSquare, type ChiSquareResult } from "./drift/chi-square.ts";
export { PSI_EPSILON, psi, psiLevel, type PsiLevel } from "./drift/psi.ts";
export { MIN_REFERENCE_STD, wassersteinBinned, wassersteinSamples, type BinnedRange, type TailMeans } from "./drift/wasserstein.ts";
export { jensenShannonDistance } from "./drift/jensen-shannon.ts";
export {
  driftMethods,
  selectMethod,
  type DriftDirection,
  type DriftInput,
  type DriftMethod,
  type DriftMethodName,
  type DriftTestResult,
  type FeatureProfile,
  type FeatureType,
  type HistogramInput,
  type SamplesInput,
} from "./drift/registry.ts";

export {
  benjaminiHochberg,
  bonferroni,
  datasetDrift,
  type AdjustedPValues,
  type Correction,
  type DatasetDrift,
  type DatasetDriftOptions,
} from "./multiple-testing.ts";
export { twoProportionZTest, wilsonInterval, type Interval, type ZTestResult } from "./proportions.ts";
export { MCNEMAR_EXACT_BELOW, mcnemar, type McNemarResult } from "./mcnemar.ts";
export { classificationMetrics, type ClassificationMetrics, type ClassMetrics } from "./classification.ts";
export {
  calibrate,
  estimateAccuracy,
  estimateAccuracyFromHistogram,
  expectedAccuracyInterval,
  fitCalibrator,
  type AccuracyInterval,
  type IsotonicCalibrator,
} from "./cbpe.ts";
