import { MISSING_BIN, type FeatureBaseline, type ModelBaseline } from "../models/baseline.ts";
import type { ModelSchema } from "../models/schema.ts";
import type { Store } from "../store/client.ts";
import {
  datasetDrift,
  driftMethods,
  psi,
  selectMethod,
  twoProportionZTest,
  type Correction,
  type DriftMethod,
  type DriftMethodName,
  type DriftTestResult,
  type HistogramInput,
  type TailMeans,
} from "../stats/index.ts";
import { baselineHistogram, histogramFromBins, psiBins, sampleTailMeans, sum, type FeatureHistogram } from "./bins.ts";
import { checkDriftOptions } from "./drift-options.ts";
import { importanceUnknown, versionImportance, type FeatureImportanceView, type VersionImportance } from "./importance.ts";
import { countByType, featureRefs, sameLayout, type FeatureRef } from "./schema-index.ts";
import { chooseVersion, requireBaseline, versionInfo, type VersionChoice } from "./version.ts";
import { resolveWindow, windowCondition, windowParams, type ResolvedWindow, type Window } from "./window.ts";
import { pct } from "../format.ts";

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

export type PsiLevel = "none" | "moderate" | "major";

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

/*
 * Current histograms for every feature in one pass: each row's feature_bin array is unrolled with
 * its positions and counted per (position, bin) packed into one small integer key, which ClickHouse
 * groups with a direct lookup table rather than a hash. Rows binned under another layout (a
 * length other than the schema's) are left out and counted by OUTPUTS_SQL.
 */
const BINS_SQL = (table: string, keyType: "UInt16" | "UInt32") => `
  SELECT intDiv(key, 256) AS pos, key % 256 AS bin, count() AS n
  FROM (
    SELECT feature_bin FROM ${table} FINAL
    WHERE model = {model:String} AND version = {version:String} AND ${windowCondition()}
      AND length(feature_bin) = {features:UInt32}
  )
  ARRAY JOIN arrayMap((b, i) -> to${keyType}(i * 256 + b), feature_bin, arrayEnumerate(feature_bin)) AS key
  GROUP BY key`;

/**
 * Per numeric feature, over raw values when they are logged: count, mean, std, min, max (nulls
 * skipped), and the means of the values in the outer bins (below the first edge, from the last
 * edge up; nan when none), which Wasserstein's tails are computed from.
 */
const RAW_SQL = (table: string) => `
  SELECT pos, count(x) AS n, avg(x) AS mean, stddevPop(x) AS std, min(x) AS min, max(x) AS max,
         avgIf(x, x < {lowEdge:Array(Float64)}[pos]) AS low_mean, avgIf(x, x >= {highEdge:Array(Float64)}[pos]) AS high_mean
  FROM (
    SELECT feature_num FROM ${table} FINAL
    WHERE model = {model:String} AND version = {version:String} AND ${windowCondition()}
      AND length(feature_num) = {numeric:UInt32}
  )
  ARRAY JOIN feature_num AS x, arrayEnumerate(feature_num) AS pos
  GROUP BY pos`;

/** Predicted × true class counts (label '' = unlabelled), with the row counts the report needs. */
const OUTPUTS_SQL = (predictions: string, labels: string) => `
  SELECT predicted, label, count() AS rows, countIf(error != '') AS errors,
         countIf(n_num > 0 OR n_cat > 0) AS raw_rows, countIf(n_bin != {features:UInt32}) AS bad_rows
  FROM (
    SELECT predicted, error, feature_num.size0 AS n_num, feature_cat.size0 AS n_cat, feature_bin.size0 AS n_bin,
           cityHash64(request_id) AS h
    FROM ${predictions} FINAL
    WHERE model = {model:String} AND version = {version:String} AND ${windowCondition()}
  ) AS p
  LEFT JOIN (SELECT cityHash64(request_id) AS h, label FROM ${labels} FINAL WHERE model = {model:String}) AS l ON p.h = l.h
  GROUP BY predicted, label
  SETTINGS join_algorithm = 'hash'`;

/** The most frequent values outside the schema's categories, per categorical feature (only run when some were binned unknown). */
const UNSEEN_SQL = (table: string) => `
  SELECT pos, value, count() AS n
  FROM (
    SELECT feature_cat FROM ${table} FINAL
    WHERE model = {model:String} AND version = {version:String} AND ${windowCondition()}
      AND length(feature_cat) = {categorical:UInt32}
  )
  ARRAY JOIN feature_cat AS value, arrayEnumerate(feature_cat) AS pos
  WHERE value != '' AND NOT has({categories:Array(Array(String))}[pos], value)
  GROUP BY pos, value
  ORDER BY n DESC, value
  LIMIT {perFeature:UInt32} BY pos`;

/**
 * The window's rows binned under another version's baseline, from their raw values: a numeric
 * value's bin is the number of that baseline's edges at or below it (as binIndex), a category its
 * index there, unknown after the last, '' or a non-finite number the missing bin.
 */
const REBIN_SQL = (table: string) => `
  SELECT intDiv(key, 256) AS pos, key % 256 AS bin, count() AS n
  FROM (
    SELECT feature_num, feature_cat FROM ${table} FINAL
    WHERE model = {model:String} AND version = {version:String} AND ${windowCondition()}
      AND length(feature_num) = {numeric:UInt32} AND length(feature_cat) = {categorical:UInt32}
  )
  ARRAY JOIN arrayConcat(
    arrayMap((x, i) -> toUInt32({numPos:Array(UInt32)}[i] * 256 +
      if(isFinite(ifNull(x, nan)), arrayCount(e -> e <= ifNull(x, nan), {edges:Array(Array(Float64))}[i]), ${MISSING_BIN})),
      feature_num, arrayEnumerate(feature_num)),
    arrayMap((v, i) -> toUInt32({catPos:Array(UInt32)}[i] * 256 +
      multiIf(v = '', ${MISSING_BIN}, indexOf({cats:Array(Array(String))}[i], v) = 0, length({cats:Array(Array(String))}[i]), indexOf({cats:Array(Array(String))}[i], v) - 1)),
      feature_cat, arrayEnumerate(feature_cat))
  ) AS key
  GROUP BY key`;

interface RawStats {
  n: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  tails: TailMeans;
}

interface WindowAggregates {
  rows: number;
  errors: number;
  rawRows: number;
  badRows: number;
  /** 1-based feature position → bin → count. */
  bins: Map<number, Map<number, number>>;
  /** 1-based numeric position → statistics of the raw values. */
  raw: Map<number, RawStats>;
  predicted: Map<string, number>;
  labels: Map<string, number>;
}

async function aggregateWindow(store: Store, model: string, version: string, schema: ModelSchema, baseline: ModelBaseline, w: ResolvedWindow): Promise<WindowAggregates> {
  const table = store.table("predictions");
  const { numeric } = countByType(schema);
  const features = schema.features.length;
  const params = { model, version, features, numeric, ...outerEdges(schema, baseline), ...windowParams(w) };
  const [bins, raw, outputs] = await Promise.all([
    store.rows<{ pos: number; bin: number; n: number }>(BINS_SQL(table, features < 256 ? "UInt16" : "UInt32"), params),
    numeric > 0 ? store.rows<Omit<RawStats, "tails"> & { pos: number; low_mean: number; high_mean: number }>(RAW_SQL(table), params) : Promise.resolve([]),
    store.rows<{ predicted: string; label: string; rows: number; errors: number; raw_rows: number; bad_rows: number }>(
      OUTPUTS_SQL(table, store.table("labels")),
      params,
    ),
  ]);
  const agg: WindowAggregates = { rows: 0, errors: 0, rawRows: 0, badRows: 0, bins: new Map(), raw: new Map(), predicted: new Map(), labels: new Map() };
  for (const r of bins) {
    const pos = Number(r.pos);
    let m = agg.bins.get(pos);
    if (!m) agg.bins.set(pos, (m = new Map()));
    m.set(Number(r.bin), Number(r.n));
  }
  for (const r of raw) {
    if (Number(r.n) > 0) {
      const tails = { low: finiteOrNull(r.low_mean), high: finiteOrNull(r.high_mean) };
      agg.raw.set(Number(r.pos), { n: Number(r.n), mean: Number(r.mean), std: Number(r.std), min: Number(r.min), max: Number(r.max), tails });
    }
  }
  for (const r of outputs) {
    const n = Number(r.rows);
    agg.rows += n;
    agg.errors += Number(r.errors);
    agg.rawRows += Number(r.raw_rows);
    agg.badRows += Number(r.bad_rows);
    if (r.predicted !== "") agg.predicted.set(r.predicted, (agg.predicted.get(r.predicted) ?? 0) + n - Number(r.errors));
    if (r.label !== "") agg.labels.set(r.label, (agg.labels.get(r.label) ?? 0) + n);
  }
  return agg;
}

/** Per numeric position, the first and last interior edge of the baseline the rows are compared under. */
function outerEdges(schema: ModelSchema, baseline: ModelBaseline): { lowEdge: number[]; highEdge: number[] } {
  const edges = featureRefs(schema).flatMap((f) => {
    const b = baseline.features[f.index]!;
    return b.type === "numeric" ? [b.edges] : [];
  });
  return { lowEdge: edges.map((e) => e[0] ?? 0), highEdge: edges.map((e) => e[e.length - 1] ?? 0) };
}

const NO_TAILS: TailMeans = { low: null, high: null };
const finiteOrNull = (x: unknown): number | null => (x === null || !Number.isFinite(Number(x)) ? null : Number(x));

async function unseenValues(
  store: Store,
  model: string,
  version: string,
  schema: ModelSchema,
  w: ResolvedWindow,
): Promise<Map<number, { value: string; rows: number }[]>> {
  const categories = schema.features.flatMap((f) => (f.type === "categorical" ? [f.categories] : []));
  const rows = await store.rows<{ pos: number; value: string; n: number }>(UNSEEN_SQL(store.table("predictions")), {
    model,
    version,
    categorical: categories.length,
    categories,
    perFeature: 5,
    ...windowParams(w),
  });
  const out = new Map<number, { value: string; rows: number }[]>();
  for (const r of rows) {
    const list = out.get(Number(r.pos)) ?? [];
    list.push({ value: r.value, rows: Number(r.n) });
    out.set(Number(r.pos), list);
  }
  return out;
}

/** A missing-value rate has shifted when the two-proportion test says so (p < 0.05) and it moved at least one point. */
const MISSING_P = 0.05;
const MISSING_MIN_CHANGE = 0.01;

/**
 * Which features moved, how much, and whether the dataset as a whole drifted. Both windows are
 * resolved here, once, against `nowUs` (the caller's clock; default the wall clock).
 */
export async function detectDataDrift(store: Store, query: DriftQuery, nowUs?: number): Promise<DriftReport> {
  const { model } = query;
  const window = resolveWindow(query.window, nowUs);
  const choice = await chooseVersion(store, model, window, query.version);
  const info = await versionInfo(store, model, choice.version);
  const schema = info.meta.schema;
  const { correction, shareThreshold, method } = checkDriftOptions(query, schema);
  const own = requireBaseline(info);
  const importance = versionImportance(own);
  const refWindow = query.reference && query.reference !== "baseline" ? resolveWindow(query.reference, nowUs) : null;
  const other = await otherBaseline(store, model, choice.version, schema, own, query.referenceVersion);
  const baseline = other?.baseline ?? own;

  const [cur, ref] = await Promise.all([
    aggregateWindow(store, model, choice.version, schema, baseline, window),
    refWindow ? aggregateWindow(store, model, choice.version, schema, baseline, refWindow) : Promise.resolve(null),
  ]);
  if (other && other.binning === "raw values re-binned") await rebin(store, model, choice.version, schema, other, window, cur);
  if (ref && ref.rows - ref.badRows === 0) {
    throw new Error(`the reference window ${refWindow!.from} – ${refWindow!.to} has no rows of model '${model}' version ${choice.version}`);
  }
  const notes: string[] = [];
  const versionsInWindow = await Promise.all(
    choice.traffic.map(async (t) => {
      const other = t.version === choice.version ? info : await versionInfo(store, model, t.version).catch(() => null);
      return { ...t, sameSchema: other ? sameLayout(other.meta.schema, schema) : null };
    }),
  );
  const others = versionsInWindow.filter((v) => v.version !== choice.version);
  if (others.length > 0) {
    const list = others.map((v) => `${v.version} (${v.rows} rows${v.sameSchema === false ? ", different schema" : ""})`).join(", ");
    notes.push(`the window also holds rows of version ${list}; this report analyses version ${choice.version} only`);
  }
  if (cur.badRows > 0) notes.push(`${cur.badRows} rows carry a feature_bin length other than the schema's and were left out`);
  if (other) {
    const how = other.binning === "logged bins" ? "both baselines share their bins" : "the rows' raw values were binned under it";
    notes.push(`reference: version ${other.version}'s training baseline, not version ${choice.version}'s own (${how})`);
    if (other.binning === "raw values re-binned" && cur.rawRows < cur.rows - cur.badRows) notes.push(`${cur.rows - cur.badRows - cur.rawRows} rows without raw feature values were left out of the features' histograms`);
  }

  const rows = cur.rows - cur.badRows;
  const base = {
    model,
    version: choice.version,
    versionChosenBy: choice.chosenBy,
    window,
    reference: refWindow
      ? { kind: "window" as const, window: refWindow, rows: ref!.rows - ref!.badRows }
      : other
        ? { kind: "version" as const, version: other.version, rows: baseline.size, binning: other.binning }
        : { kind: "baseline" as const, rows: baseline.size },
    rows,
    rawFeatures: cur.rawRows > 0,
    selectionRule: SELECTION_RULE,
    requestedMethod: method ?? null,
    importanceRun: importance.run,
    versionsInWindow,
  };
  if (!importance.run) notes.push(importanceUnknown(choice.version));
  if (rows === 0) {
    notes.push(`no rows of version ${choice.version} in the window`);
    return { ...base, features: [], prediction: null, label: null, dataset: null, notes, summary: `no predictions of version ${choice.version} in the window` };
  }

  const refs = featureRefs(schema);
  const unknownSeen = refs.some((f) => f.type === "categorical" && (cur.bins.get(f.binPos)?.get(f.categories!.length) ?? 0) > 0);
  const unseen = unknownSeen && cur.rawRows > 0 ? await unseenValues(store, model, choice.version, schema, window) : new Map();

  const outcomes = refs.map((f) => featureDrift(f, baseline.features[f.index]!, cur, ref, unseen, method, importance.byFeature.get(f.name) ?? null));
  const unbinned = refs.filter((_, i) => outcomes[i] === null).map((f) => f.name);
  if (unbinned.length > 0) {
    notes.push(`no binned rows of ${unbinned.join(", ")} in the ${ref ? "window or reference" : "window"} (rows binned under another baseline, or written while the window was read): left out`);
  }
  const features = outcomes.filter((o): o is FeatureOutcome => o !== null);
  const tested = features.flatMap((f, i) => (f.result ? [i] : []));
  let dataset: DriftReport["dataset"] = null;
  if (tested.length > 0) {
    const results = tested.map((i) => features[i]!.result!);
    const verdict = datasetDrift(results, { correction, shareThreshold });
    tested.forEach((i, k) => {
      features[i]!.out.drifted = verdict.featureDrifted[k]!;
      features[i]!.out.adjustedPValue = verdict.adjustedPValues[k]!;
    });
    dataset = {
      correction,
      shareThreshold,
      tested: tested.length,
      driftedCount: verdict.driftedCount,
      share: verdict.share,
      drifted: verdict.drifted,
      driftedFeatures: tested.filter((_, k) => verdict.featureDrifted[k]).map((i) => features[i]!.out.feature),
    };
  }
  const sorted = features.map((f) => f.out).sort((a, b) => b.psi - a.psi);

  const classes = schema.classes;
  const prediction = classDrift(classes, ref ? ref.predicted : countsOf(classes, baseline.predictionCounts), cur.predicted);
  const labelled = sum([...cur.labels.values()]);
  const refLabels = ref ? ref.labels : countsOf(classes, baseline.labelCounts);
  const label = labelled > 0 && sum([...refLabels.values()]) > 0 ? classDrift(classes, refLabels, cur.labels) : null;
  if (labelled === 0) notes.push("no labels for the window's rows yet: no label drift");
  if (cur.rawRows === 0) notes.push("rows carry no raw feature values (MLWATCH_LOG_FEATURES=hash): no mean shift or unseen category values, bins only");
  else if (cur.rawRows < rows) notes.push(`${rows - cur.rawRows} of ${rows} rows carry no raw feature values; raw statistics cover the rest`);

  return { ...base, features: sorted, prediction, label, dataset, notes, summary: summarize(sorted, dataset, prediction, label) };
}

interface OtherBaseline {
  version: string;
  baseline: ModelBaseline;
  binning: "logged bins" | "raw values re-binned";
}

/** The reference version's baseline when one other than the analysed version is asked for; null otherwise. */
async function otherBaseline(
  store: Store,
  model: string,
  version: string,
  schema: ModelSchema,
  own: ModelBaseline,
  referenceVersion: string | undefined,
): Promise<OtherBaseline | null> {
  if (referenceVersion === undefined || referenceVersion === version) return null;
  const info = await versionInfo(store, model, referenceVersion);
  if (!sameLayout(info.meta.schema, schema)) {
    throw new Error(`version ${referenceVersion} of '${model}' has other features than version ${version}: its baseline cannot be a reference for it`);
  }
  const baseline = requireBaseline(info);
  return { version: referenceVersion, baseline, binning: sameBins(own, baseline) ? "logged bins" : "raw values re-binned" };
}

/** Same edges and categories for every feature: rows logged under one baseline are in the other's bins too. */
function sameBins(a: ModelBaseline, b: ModelBaseline): boolean {
  const layout = (m: ModelBaseline) => JSON.stringify(m.features.map((f) => (f.type === "numeric" ? f.edges : f.categories)));
  return layout(a) === layout(b);
}

/** Replaces the window's logged bins with its raw values binned under the other baseline. */
async function rebin(store: Store, model: string, version: string, schema: ModelSchema, other: OtherBaseline, w: ResolvedWindow, cur: WindowAggregates): Promise<void> {
  const refs = featureRefs(schema);
  if (cur.rows - cur.badRows > 0 && cur.rawRows === 0) {
    throw new Error(
      `version ${version}'s rows carry no raw feature values (MLWATCH_LOG_FEATURES=hash) and its bins differ from version ${other.version}'s baseline: ` +
        "they cannot be compared with that baseline; compare against the version's own baseline or a reference window instead",
    );
  }
  const numeric = refs.filter((f) => f.type === "numeric");
  const categorical = refs.filter((f) => f.type === "categorical");
  const edgesOf = (f: FeatureRef) => {
    const b = other.baseline.features[f.index]!;
    return b.type === "numeric" ? b.edges : [];
  };
  const categoriesOf = (f: FeatureRef) => {
    const b = other.baseline.features[f.index]!;
    return b.type === "categorical" ? b.categories : [];
  };
  const rows = await store.rows<{ pos: number; bin: number; n: number }>(REBIN_SQL(store.table("predictions")), {
    model,
    version,
    numeric: numeric.length,
    categorical: categorical.length,
    numPos: numeric.map((f) => f.binPos),
    edges: numeric.map(edgesOf),
    catPos: categorical.map((f) => f.binPos),
    cats: categorical.map(categoriesOf),
    ...windowParams(w),
  });
  cur.bins = new Map();
  for (const r of rows) {
    const pos = Number(r.pos);
    let m = cur.bins.get(pos);
    if (!m) cur.bins.set(pos, (m = new Map()));
    m.set(Number(r.bin), Number(r.n));
  }
}

interface FeatureOutcome {
  out: FeatureDrift;
  result: DriftTestResult | null;
}

function featureDrift(
  f: FeatureRef,
  fb: FeatureBaseline,
  cur: WindowAggregates,
  ref: WindowAggregates | null,
  unseen: Map<number, { value: string; rows: number }[]>,
  requested: DriftMethodName | undefined,
  importance: FeatureImportanceView | null,
): FeatureOutcome | null {
  const curH = histogramFromBins(fb, cur.bins.get(f.binPos));
  const refH: FeatureHistogram = ref ? histogramFromBins(fb, ref.bins.get(f.binPos)) : baselineHistogram(fb);
  const curPresent = sum(curH.counts);
  const refPresent = sum(refH.counts);
  const curRows = curPresent + curH.missing;
  const refRows = refPresent + refH.missing;
  const curRaw = f.type === "numeric" ? cur.raw.get(f.rawPos) : undefined;
  const refRaw = f.type === "numeric" && ref ? ref.raw.get(f.rawPos) : undefined;
  // Rows are counted by one query and binned by another: a side can hold rows but no bins of them.
  if (curRows === 0 || refRows === 0) return null;

  const score = psi(psiBins(fb, refH), psiBins(fb, curH));
  const missingTest = refRows > 0 && curRows > 0 ? twoProportionZTest(curH.missing, curRows, refH.missing, refRows) : null;
  const missingRef = refRows > 0 ? refH.missing / refRows : 0;
  const missingCur = curRows > 0 ? curH.missing / curRows : 0;
  const out: FeatureDrift = {
    feature: f.name,
    type: f.type,
    psi: score,
    psiLevel: score < 0.1 ? "none" : score < 0.25 ? "moderate" : "major",
    method: null,
    methodChosenBy: null,
    defaultMethod: null,
    score: null,
    pValue: null,
    adjustedPValue: null,
    threshold: null,
    drifted: false,
    rows: { reference: refRows, current: curRows },
    missing: {
      reference: missingRef,
      current: missingCur,
      pValue: missingTest?.pValue ?? null,
      shifted: (missingTest?.pValue ?? 1) < MISSING_P && Math.abs(missingCur - missingRef) >= MISSING_MIN_CHANGE,
    },
    importance,
  };
  if (fb.type === "categorical") {
    const k = fb.categories.length;
    out.unseen = {
      reference: refRows > 0 ? refH.counts[k]! / refRows : 0,
      current: curRows > 0 ? curH.counts[k]! / curRows : 0,
      rows: curH.counts[k]!,
      values: cur.rawRows > 0 ? (unseen.get(f.rawPos) ?? []) : null,
    };
  } else {
    const referenceMean = refRaw ? refRaw.mean : fb.mean;
    const referenceStd = refRaw ? refRaw.std : fb.std;
    out.meanShift = curRaw
      ? { referenceMean, referenceStd, currentMean: curRaw.mean, currentStd: curRaw.std, inStd: referenceStd > 0 ? (curRaw.mean - referenceMean) / referenceStd : null }
      : null;
  }
  if (curPresent === 0 || refPresent === 0) {
    out.note = `no values present in the ${curPresent === 0 ? "current window" : "reference"}; only missing rates compare`;
    return { out, result: null };
  }

  const uniqueValues = curH.counts.filter((c, i) => c > 0 || refH.counts[i]! > 0).length;
  const selected: DriftMethod = selectMethod({ type: f.type, uniqueValues, sampleSize: refPresent });
  // checkDriftOptions made sure a requested method fits every feature's type.
  const method = requested ? driftMethods[requested] : selected;
  const input: HistogramInput = {
    kind: "histogram",
    refCounts: refH.counts,
    curCounts: curH.counts,
    ...(fb.type === "numeric"
      ? {
          numeric: {
            edges: fb.edges,
            range: {
              min: Math.min(fb.min, curRaw?.min ?? Infinity, refRaw?.min ?? Infinity),
              max: Math.max(fb.max, curRaw?.max ?? -Infinity, refRaw?.max ?? -Infinity),
              refStd: refRaw ? refRaw.std : fb.std,
              tails: { reference: ref ? (refRaw?.tails ?? NO_TAILS) : sampleTailMeans(fb), current: curRaw?.tails ?? NO_TAILS },
            },
          },
        }
      : {}),
  };
  const result = method.run(input);
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

function countsOf(classes: readonly string[], counts: readonly number[]): Map<string, number> {
  return new Map(classes.map((c, i) => [c, counts[i] ?? 0]));
}

function classDrift(classes: readonly string[], ref: Map<string, number>, cur: Map<string, number>): ClassDrift | null {
  const keys = [...classes, ...[...ref.keys(), ...cur.keys()].filter((k) => !classes.includes(k))];
  const uniqueKeys = [...new Set(keys)];
  const refCounts = uniqueKeys.map((k) => ref.get(k) ?? 0);
  const curCounts = uniqueKeys.map((k) => cur.get(k) ?? 0);
  const refTotal = sum(refCounts);
  const curTotal = sum(curCounts);
  if (refTotal === 0 || curTotal === 0) return null;
  const method = selectMethod({ type: "categorical", uniqueValues: uniqueKeys.length, sampleSize: refTotal });
  const result = method.run({ kind: "histogram", refCounts, curCounts });
  const shares = (counts: number[], total: number) => Object.fromEntries(uniqueKeys.map((k, i) => [k, counts[i]! / total]));
  return {
    method: result.method,
    score: result.score,
    pValue: result.pValue ?? null,
    threshold: result.threshold,
    drifted: result.drifted,
    psi: psi(refCounts, curCounts),
    rows: { reference: refTotal, current: curTotal },
    reference: shares(refCounts, refTotal),
    current: shares(curCounts, curTotal),
  };
}

function summarize(features: FeatureDrift[], dataset: DriftReport["dataset"], prediction: ClassDrift | null, label: ClassDrift | null): string {
  const parts: string[] = [];
  if (dataset) {
    const names = dataset.driftedFeatures.length > 0 ? ` (${dataset.driftedFeatures.join(", ")})` : "";
    parts.push(
      `${dataset.driftedCount} of ${dataset.tested} features drifted${names}; dataset drift: ${dataset.drifted ? "yes" : "no"} ` +
        `(share ${dataset.share.toFixed(2)} ${dataset.drifted ? ">=" : "<"} ${dataset.shareThreshold}, ${dataset.correction})`,
    );
  }
  const top = features[0];
  if (top) parts.push(`largest move: ${top.feature} (psi ${top.psi.toFixed(3)}, ${top.psiLevel})`);
  for (const f of features) {
    if (f.missing.shifted) parts.push(`missing ${f.feature}: ${pct(f.missing.reference)} -> ${pct(f.missing.current)}`);
    if (f.unseen && f.unseen.rows > 0 && f.unseen.current > f.unseen.reference) {
      const values = f.unseen.values?.length ? ` e.g. ${f.unseen.values.slice(0, 3).map((v) => `'${v.value}'`).join(", ")}` : "";
      parts.push(`unseen ${f.feature} values in ${f.unseen.rows} rows${values}`);
    }
  }
  if (prediction?.drifted) parts.push(`prediction drift (${prediction.method} ${prediction.score.toFixed(3)})`);
  if (label?.drifted) parts.push(`label drift (${label.method} ${label.score.toFixed(3)})`);
  return parts.join("; ");
}

