// Public API of the analysis package: one function per question, each beside the SQL that feeds it.
export { type Window, type ResolvedWindow, windowSchema, resolveWindow, WindowError, DEFAULT_WINDOW_SECONDS } from "./window.ts";
export { UnknownFeatureError, featureRefs, resolveFeature, type FeatureRef } from "./schema-index.ts";
export { chooseVersion, trafficByVersion, type VersionChoice, type VersionTraffic } from "./version.ts";
export { getAccuracy, type AccuracyQuery, type AccuracyReport, type AccuracyFigures, type ClassScore, type Estimate } from "./accuracy.ts";
export { detectDataDrift } from "./drift.ts";
export { SELECTION_RULE, type DriftQuery, type DriftReport, type FeatureDrift, type ClassDrift } from "./drift-report.ts";
export { checkDriftOptions, driftMethodNames, driftOptionsSchema, DriftOptionsError, type DriftOptions } from "./drift-options.ts";
export { describeImportance, featureImportanceSchema, importanceRunSchema, type FeatureImportanceView, type ImportanceRunView } from "./importance.ts";
export { compareVersions, MIN_LABELLED, type CompareQuery, type SideStats, type VersionComparison } from "./compare.ts";
export {
  queryLogs,
  logFiltersSchema,
  featureFilterSchema,
  LogQueryError,
  type LogFilters,
  type FeatureFilter,
  type LogPage,
  type LogRow,
} from "./logs.ts";
export { featureDistribution, type DistributionQuery, type FeatureDistribution, type Share, type Summary } from "./distribution.ts";
export { modelHealth, type HealthQuery, type HealthReport, type HealthFigures, type ServedVersion, type VersionBaseline } from "./health.ts";
export { type Latency } from "../store/latency-quantiles.ts";
export { listModelsOverview, type ModelOverview, type ModelsOverview } from "./models.ts";
export { driftOverTime, MIN_BUCKET_ROWS, type DriftOverTime, type DriftOverTimeQuery, type FeatureDriftOverTime } from "./drift-over-time.ts";
