import type { Store } from "../store/client.ts";
import { datasetDrift, type Correction } from "../stats/index.ts";
import { sum } from "./bins.ts";
import { aggregateWindow, type WindowAggregates } from "./drift-aggregates.ts";
import { outputDrift } from "./drift-class.ts";
import { featureDrift, type FeatureOutcome } from "./drift-feature.ts";
import { checkDriftOptions } from "./drift-options.ts";
import { otherBaseline, rebin, type OtherBaseline } from "./drift-reference-version.ts";
import { SELECTION_RULE, type DriftQuery, type DriftReport } from "./drift-report.ts";
import { driftSummary } from "./drift-summary.ts";
import { unseenValues, type UnseenValues } from "./drift-unseen.ts";
import { importanceUnknown, versionImportance } from "./importance.ts";
import { featureRefs, sameLayout } from "./schema-index.ts";
import { chooseVersion, requireBaseline, versionInfo, type VersionChoice, type VersionInfo } from "./version.ts";
import { resolveWindow, type ResolvedWindow } from "./window.ts";

/**
 * Which features moved, how much, and whether the dataset as a whole drifted. Both windows are
 * resolved here, once, against `nowUs` (the caller's clock; default the wall clock).
 */
export async function detectDataDrift(store: Store, query: DriftQuery, nowUs?: number): Promise<DriftReport> {
  const { model } = query;
  const window = resolveWindow(query.window, nowUs);
  const choice = await chooseVersion(store, model, window, query.version);
  const { version } = choice;
  const info = await versionInfo(store, model, version);
  const schema = info.meta.schema;
  const { correction, shareThreshold, method } = checkDriftOptions(query, schema);
  const own = requireBaseline(info);
  const importance = versionImportance(own);
  const refWindow = query.reference && query.reference !== "baseline" ? resolveWindow(query.reference, nowUs) : null;
  const other = await otherBaseline(store, model, version, schema, own, query.referenceVersion);
  const baseline = other?.baseline ?? own;

  const [logged, ref] = await Promise.all([
    aggregateWindow(store, model, version, schema, baseline, window),
    refWindow ? aggregateWindow(store, model, version, schema, baseline, refWindow) : Promise.resolve(null),
  ]);
  const cur = other?.binning === "raw values re-binned" ? { ...logged, bins: await rebin(store, model, version, schema, other, window, logged) } : logged;
  if (ref && ref.rows - ref.badRows === 0) {
    throw new Error(`the reference window ${refWindow!.from} – ${refWindow!.to} has no rows of model '${model}' version ${version}`);
  }
  const versionsInWindow = await versionsBeside(store, model, choice, info);
  const notes = windowNotes(version, versionsInWindow, cur, other);
  const rows = cur.rows - cur.badRows;
  const base = {
    model,
    version,
    versionChosenBy: choice.chosenBy,
    window,
    reference: referenceOf(refWindow, ref, other, baseline.size),
    rows,
    rawFeatures: cur.rawRows > 0,
    selectionRule: SELECTION_RULE,
    requestedMethod: method ?? null,
    importanceRun: importance.run,
    versionsInWindow,
  };
  if (!importance.run) notes.push(importanceUnknown(version));
  if (rows === 0) {
    notes.push(`no rows of version ${version} in the window`);
    return { ...base, features: [], prediction: null, label: null, dataset: null, notes, summary: `no predictions of version ${version} in the window` };
  }

  const refs = featureRefs(schema);
  const unknownSeen = refs.some((f) => f.type === "categorical" && (cur.bins.get(f.binPos)?.get(f.categories!.length) ?? 0) > 0);
  const unseen: UnseenValues = unknownSeen && cur.rawRows > 0 ? await unseenValues(store, model, version, schema, window) : new Map();
  const outcomes = refs.map((f) => featureDrift(f, baseline.features[f.index]!, cur, ref, unseen, method, importance.byFeature.get(f.name) ?? null));
  const unbinned = refs.filter((_, i) => outcomes[i] === null).map((f) => f.name);
  if (unbinned.length > 0) {
    notes.push(`no binned rows of ${unbinned.join(", ")} in the ${ref ? "window or reference" : "window"} (rows binned under another baseline, or written while the window was read): left out`);
  }
  const features = outcomes.filter((o): o is FeatureOutcome => o !== null);
  const dataset = judgeDataset(features, correction, shareThreshold);
  const sorted = features.map((f) => f.out).sort((a, b) => b.psi - a.psi);
  const { prediction, label } = outputDrift(schema.classes, baseline, cur, ref);
  notes.push(...rowNotes(cur, rows));
  return { ...base, features: sorted, prediction, label, dataset, notes, summary: driftSummary(sorted, dataset, prediction, label) };
}

/** Every version with rows in the window, and whether its features are the analysed version's. */
async function versionsBeside(store: Store, model: string, choice: VersionChoice, info: VersionInfo): Promise<DriftReport["versionsInWindow"]> {
  return Promise.all(
    choice.traffic.map(async (t) => {
      const other = t.version === choice.version ? info : await versionInfo(store, model, t.version).catch(() => null);
      return { ...t, sameSchema: other ? sameLayout(other.meta.schema, info.meta.schema) : null };
    }),
  );
}

/** What the report must say about which rows and which reference it covers. */
function windowNotes(version: string, versionsInWindow: DriftReport["versionsInWindow"], cur: WindowAggregates, other: OtherBaseline | null): string[] {
  const notes: string[] = [];
  const others = versionsInWindow.filter((v) => v.version !== version);
  if (others.length > 0) {
    const list = others.map((v) => `${v.version} (${v.rows} rows${v.sameSchema === false ? ", different schema" : ""})`).join(", ");
    notes.push(`the window also holds rows of version ${list}; this report analyses version ${version} only`);
  }
  if (cur.badRows > 0) notes.push(`${cur.badRows} rows carry a feature_bin length other than the schema's and were left out`);
  if (other) {
    const how = other.binning === "logged bins" ? "both baselines share their bins" : "the rows' raw values were binned under it";
    notes.push(`reference: version ${other.version}'s training baseline, not version ${version}'s own (${how})`);
    if (other.binning === "raw values re-binned" && cur.rawRows < cur.rows - cur.badRows) notes.push(`${cur.rows - cur.badRows - cur.rawRows} rows without raw feature values were left out of the features' histograms`);
  }
  return notes;
}

function referenceOf(refWindow: ResolvedWindow | null, ref: WindowAggregates | null, other: OtherBaseline | null, baselineRows: number): DriftReport["reference"] {
  if (refWindow) return { kind: "window", window: refWindow, rows: ref!.rows - ref!.badRows };
  if (other) return { kind: "version", version: other.version, rows: baselineRows, binning: other.binning };
  return { kind: "baseline", rows: baselineRows };
}

/** The dataset verdict over the tested features; each tested feature takes its verdict and p-value after the correction. */
function judgeDataset(features: FeatureOutcome[], correction: Correction, shareThreshold: number): DriftReport["dataset"] {
  const tested = features.filter((f) => f.result !== null);
  if (tested.length === 0) return null;
  const verdict = datasetDrift(tested.map((f) => f.result!), { correction, shareThreshold });
  tested.forEach((f, k) => {
    f.out.drifted = verdict.featureDrifted[k]!;
    f.out.adjustedPValue = verdict.adjustedPValues[k]!;
  });
  return {
    correction,
    shareThreshold,
    tested: tested.length,
    driftedCount: verdict.driftedCount,
    share: verdict.share,
    drifted: verdict.drifted,
    driftedFeatures: tested.filter((_, k) => verdict.featureDrifted[k]).map((f) => f.out.feature),
  };
}

/** What the window's rows lack: labels, raw values. */
function rowNotes(cur: WindowAggregates, rows: number): string[] {
  const notes: string[] = [];
  if (sum([...cur.labels.values()]) === 0) notes.push("no labels for the window's rows yet: no label drift");
  if (cur.rawRows === 0) notes.push("rows carry no raw feature values (MLWATCH_LOG_FEATURES=hash): no mean shift or unseen category values, bins only");
  else if (cur.rawRows < rows) notes.push(`${rows - cur.rawRows} of ${rows} rows carry no raw feature values; raw statistics cover the rest`);
  return notes;
}
