// One feature's drift: PSI, the missing-rate and unseen-category shifts, the mean shift, and the
// drift test (the requested method or the default selector's) on its present values.
import type { FeatureBaseline, NumericBaseline } from "../models/baseline.ts";
import { driftMethods, psi, psiLevel, selectMethod, twoProportionZTest, type DriftMethodName, type DriftTestResult, type HistogramInput, type TailMeans } from "../stats/index.ts";
import { baselineHistogram, histogramFromBins, psiBins, sampleTailMeans, sum, type FeatureHistogram } from "./bins.ts";
import type { RawStats, WindowAggregates } from "./drift-aggregates.ts";
import type { FeatureDrift } from "./drift-report.ts";
import type { UnseenValues } from "./drift-unseen.ts";
import type { FeatureImportanceView } from "./importance.ts";
import type { FeatureRef } from "./schema-index.ts";

/** The feature's report entry, and the test result the dataset verdict is drawn from (null when untested). */
export interface FeatureOutcome {
  out: FeatureDrift;
  result: DriftTestResult | null;
}

/** A missing-value rate has shifted when the two-proportion test says so (p < 0.05) and it moved at least one point. */
const MISSING_P = 0.05;
const MISSING_MIN_CHANGE = 0.01;
const NO_TAILS: TailMeans = { low: null, high: null };

/** Null when either side holds no binned rows of the feature. */
export function featureDrift(
  f: FeatureRef,
  fb: FeatureBaseline,
  cur: WindowAggregates,
  ref: WindowAggregates | null,
  unseen: UnseenValues,
  requested: DriftMethodName | undefined,
  importance: FeatureImportanceView | null,
): FeatureOutcome | null {
  const curH = histogramFromBins(fb, cur.bins.get(f.binPos));
  const refH: FeatureHistogram = ref ? histogramFromBins(fb, ref.bins.get(f.binPos)) : baselineHistogram(fb);
  const curRows = sum(curH.counts) + curH.missing;
  const refRows = sum(refH.counts) + refH.missing;
  // Rows are counted by one query and binned by another: a side can hold rows but no bins of them.
  if (curRows === 0 || refRows === 0) return null;
  const curRaw = f.type === "numeric" ? cur.raw.get(f.rawPos) : undefined;
  const refRaw = f.type === "numeric" && ref ? ref.raw.get(f.rawPos) : undefined;

  const score = psi(psiBins(fb, refH), psiBins(fb, curH));
  const out: FeatureDrift = {
    feature: f.name,
    type: f.type,
    psi: score,
    psiLevel: psiLevel(score),
    method: null,
    methodChosenBy: null,
    defaultMethod: null,
    score: null,
    pValue: null,
    adjustedPValue: null,
    threshold: null,
    drifted: false,
    rows: { reference: refRows, current: curRows },
    missing: missingShift(refH.missing, refRows, curH.missing, curRows),
    importance,
  };
  if (fb.type === "categorical") {
    const k = fb.categories.length;
    out.unseen = { reference: refH.counts[k]! / refRows, current: curH.counts[k]! / curRows, rows: curH.counts[k]!, values: cur.rawRows > 0 ? (unseen.get(f.rawPos) ?? []) : null };
  } else {
    out.meanShift = meanShift(fb, curRaw, refRaw);
  }
  const curPresent = curRows - curH.missing;
  const refPresent = refRows - refH.missing;
  if (curPresent === 0 || refPresent === 0) {
    out.note = `no values present in the ${curPresent === 0 ? "current window" : "reference"}; only missing rates compare`;
    return { out, result: null };
  }

  const uniqueValues = curH.counts.filter((c, i) => c > 0 || refH.counts[i]! > 0).length;
  const selected = selectMethod({ type: f.type, uniqueValues, sampleSize: refPresent });
  // checkDriftOptions made sure a requested method fits every feature's type.
  const method = requested ? driftMethods[requested] : selected;
  const result = method.run(histogramInput(fb, refH, curH, ref !== null, curRaw, refRaw));
  Object.assign(out, {
    method: result.method,
    methodChosenBy: requested ? "requested" : "default selector",
    defaultMethod: selected.name,
    score: result.score,
    pValue: result.pValue ?? null,
    threshold: result.threshold,
    drifted: result.drifted,
  });
  return { out, result };
}

function missingShift(refMissing: number, refRows: number, curMissing: number, curRows: number): FeatureDrift["missing"] {
  const test = twoProportionZTest(curMissing, curRows, refMissing, refRows);
  const reference = refMissing / refRows;
  const current = curMissing / curRows;
  return { reference, current, pValue: test.pValue, shifted: test.pValue < MISSING_P && Math.abs(current - reference) >= MISSING_MIN_CHANGE };
}

/** Against the reference window's raw values when there is one, else the baseline's. */
function meanShift(fb: NumericBaseline, curRaw: RawStats | undefined, refRaw: RawStats | undefined): FeatureDrift["meanShift"] {
  if (!curRaw) return null;
  const referenceMean = refRaw ? refRaw.mean : fb.mean;
  const referenceStd = refRaw ? refRaw.std : fb.std;
  return { referenceMean, referenceStd, currentMean: curRaw.mean, currentStd: curRaw.std, inStd: referenceStd > 0 ? (curRaw.mean - referenceMean) / referenceStd : null };
}

/** The test's input: both sides' counts, and for a numeric feature its edges and the range Wasserstein spreads bins over. */
function histogramInput(fb: FeatureBaseline, refH: FeatureHistogram, curH: FeatureHistogram, refIsWindow: boolean, curRaw: RawStats | undefined, refRaw: RawStats | undefined): HistogramInput {
  if (fb.type !== "numeric") return { kind: "histogram", refCounts: refH.counts, curCounts: curH.counts };
  return {
    kind: "histogram",
    refCounts: refH.counts,
    curCounts: curH.counts,
    numeric: {
      edges: fb.edges,
      range: {
        min: Math.min(fb.min, curRaw?.min ?? Infinity, refRaw?.min ?? Infinity),
        max: Math.max(fb.max, curRaw?.max ?? -Infinity, refRaw?.max ?? -Infinity),
        refStd: refRaw ? refRaw.std : fb.std,
        tails: { reference: refIsWindow ? (refRaw?.tails ?? NO_TAILS) : sampleTailMeans(fb), current: curRaw?.tails ?? NO_TAILS },
      },
    },
  };
}
