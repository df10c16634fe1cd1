// What a drift call asks and what it answers: the shapes detectDataDrift takes and returns, and the MCP tool sends.
import type { Correction, DriftMethodName, PsiLevel } from "../stats/index.ts";
import type { FeatureImportanceView, VersionImportance } from "./importance.ts";
import type { VersionChoice } from "./version.ts";
import type { ResolvedWindow, Window } from "./window.ts";

export interface DriftQuery {
  model: string;
  /** Default: the version that served most primary traffic in the window. */
  version?: string;
  window?: Window;
  /** The version's training baseline (default) or the same version's rows in another window. */
  reference?: "baseline" | Window;
  /**
   * Another version's training baseline as the reference instead of this version's own: are the
   * inputs what the version before it was trained on? Rows are re-binned from their raw values
   * under that baseline (needs MLWATCH_LOG_FEATURES=raw) unless both baselines share their bins.
   */
  referenceVersion?: string;
  /** Applied to the p-value tests before the dataset verdict; distance methods keep their own verdict. */
  correction?: Correction;
  /** Dataset drift when at least this share of tested features drifted (default 0.5, as Evidently). */
  shareThreshold?: number;
  /** One method for every feature instead of the default choice per feature; it must fit every feature's type. */
  method?: DriftMethodName;
}

export interface FeatureDrift {
  feature: string;
  type: "numeric" | "categorical";
  /** PSI over ~10 equal-reference-mass bins (numeric) or the categories, missing values as one more bin: the ranking score. */
  psi: number;
  /** < 0.1 none, < 0.25 moderate, otherwise major (the usual PSI reading). */
  psiLevel: PsiLevel;
  /** The drift test on present values; null when a side has no present values. */
  method: DriftMethodName | null;
  /** Who chose `method`: the caller's `method`, or the default selector (see selectionRule). */
  methodChosenBy: "requested" | "default selector" | null;
  /** What the default selector picks for this feature, whether or not it was used. */
  defaultMethod: DriftMethodName | null;
  score: number | null;
  pValue: number | null;
  /** After the requested correction (p-value methods only). */
  adjustedPValue: number | null;
  threshold: number | null;
  /** The test's verdict after correction. */
  drifted: boolean;
  rows: { reference: number; current: number };
  missing: { reference: number; current: number; pValue: number | null; shifted: boolean };
  /** Categorical only: values outside the schema's categories. `values` needs raw features logged. */
  unseen?: { reference: number; current: number; rows: number; values: { value: string; rows: number }[] | null };
  /** Numeric only, when raw values are logged: the current mean in reference standard deviations. */
  meanShift?: { referenceMean: number; referenceStd: number; currentMean: number; currentStd: number; inStd: number | null } | null;
  /** The analysed version's permutation importance of this feature; null when unknown (see the report's `importanceRun`). */
  importance: FeatureImportanceView | null;
  note?: string;
}

export interface ClassDrift {
  method: DriftMethodName;
  score: number;
  pValue: number | null;
  threshold: number;
  drifted: boolean;
  psi: number;
  rows: { reference: number; current: number };
  reference: Record<string, number>;
  current: Record<string, number>;
}

export interface DriftReport {
  model: string;
  version: string;
  versionChosenBy: VersionChoice["chosenBy"];
  window: ResolvedWindow;
  reference:
    | { kind: "baseline"; rows: number }
    | { kind: "window"; window: ResolvedWindow; rows: number }
    /** Another version's training baseline; `binning` says how the window's rows were put in its bins. */
    | { kind: "version"; version: string; rows: number; binning: "logged bins" | "raw values re-binned" };
  /** Rows of the analysed version in the window. */
  rows: number;
  /** Whether the rows carry raw feature values (MLWATCH_LOG_FEATURES=raw); bins are always there. */
  rawFeatures: boolean;
  /** The rule used for the per-feature method; see selectionRule. */
  selectionRule: string;
  /** The method the caller asked for, used for every feature; null when each feature got the selector's choice. */
  requestedMethod: DriftMethodName | null;
  /** How the analysed version's feature importances were measured; null when it has none (each feature's importance is then null). */
  importanceRun: VersionImportance["run"];
  /** Sorted by psi, highest first: the feature that moved most comes first. */
  features: FeatureDrift[];
  /** Predicted class distribution against the baseline's held-out predictions (or the reference window's). */
  prediction: ClassDrift | null;
  /** True class distribution of the labelled rows against the baseline's held-out labels. */
  label: ClassDrift | null;
  dataset: {
    correction: Correction;
    shareThreshold: number;
    tested: number;
    driftedCount: number;
    share: number;
    drifted: boolean;
    driftedFeatures: string[];
  } | null;
  /** Every version with rows in the window; only `version` is analysed. */
  versionsInWindow: { version: string; rows: number; primary: number; canary: number; shadow: number; sameSchema: boolean | null }[];
  notes: string[];
  summary: string;
}

export const SELECTION_RULE =
  "stats.selectMethod on each feature's histogram: uniqueValues = bins holding rows in reference or current " +
  "(a numeric feature's distinct values collapse to its percentile bins), sampleSize = reference rows with a value. " +
  "Numeric with > 5 such bins: KS (binned) up to 1000 reference rows, else Wasserstein normalised by the reference std " +
  "(bins taken as uniform between edges; each outer bin from the mean of the values in it where raw values are logged). Categorical or <= 5 bins: " +
  "chi-square up to 1000 reference rows, else Jensen-Shannon. Missing values are left out of the test and reported apart.";
