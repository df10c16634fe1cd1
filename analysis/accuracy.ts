import type { Store } from "../store/client.ts";
import { classificationMetrics, wilsonInterval, type Interval } from "../stats/index.ts";
import { CbpeSum, calibratorFor, CONF_BIN_SQL } from "./cbpe.ts";
import { modelVersions, versionInfo } from "./version.ts";
import { BUCKET_SQL, bucketSecondsFor, bucketStarts, resolveWindow, windowCondition, windowParams, type Window } from "./window.ts";
import { iso } from "../format.ts";

export interface AccuracyQuery {
  model: string;
  /** Only this version; default every version that served (primary or canary) in the window. */
  version?: string;
  window?: Window;
  bucketSeconds?: number;
}

export interface ClassScore {
  class: string;
  precision: number;
  recall: number;
  f1: number;
  /** Labelled rows whose true class is this one. */
  support: number;
}

export interface Estimate {
  /** CBPE: mean calibrated P(correct) over the answered rows' confidences. */
  accuracy: number;
  /** ± 1.96 sd of sampling noise; says nothing about calibration error under drift. */
  lower: number;
  upper: number;
  rows: number;
}

export interface AccuracyFigures {
  /** Answered rows (no error) served as primary or canary. */
  predictions: number;
  errors: number;
  labelled: number;
  labelCoverage: number;
  correct: number;
  /** correct / labelled; null without labelled rows. */
  accuracy: number | null;
  /** Wilson 95% interval of the accuracy. */
  interval: Interval | null;
  macroF1: number | null;
  perClass: ClassScore[];
  /** Without labels, from the version's baseline calibration; null when there are no answered rows. */
  estimated: Estimate | null;
}

export interface AccuracyReport extends AccuracyFigures {
  model: string;
  version: string | null;
  window: ReturnType<typeof resolveWindow>;
  bucketSeconds: number;
  classes: string[];
  /** Rows: true class, columns: predicted class, both in `classes` order. */
  confusion: number[][];
  byVersion: (AccuracyFigures & { version: string; confusion: number[][] })[];
  trend: { startUs: number; start: string; predictions: number; errors: number; labelled: number; correct: number; accuracy: number | null; estimated: number | null }[];
  notes: string[];
}

/*
 * One pass over the window's served rows, labels joined in SQL; three grouping sets:
 *  - (version, bucket): counts for the trend and the totals;
 *  - (version, label, predicted): the confusion matrix (label '' = unlabelled, predicted '' = error);
 *  - (version, bucket, conf): the confidence histogram CBPE reads.
 * The join key is the 64-bit hash of the request id: half the cost of a String key, and a collision
 * needs billions of labelled requests to become likely. FINAL on both sides: a retried request and
 * a corrected label count once, the latest label winning. The plain hash join beats parallel_hash
 * on small machines.
 */
const ACCURACY_SQL = (predictions: string, labels: string, byVersion: boolean) => `
  SELECT version, bucket, label, predicted, conf,
         grouping(label) AS g_label, grouping(conf) AS g_conf,
         count() AS rows,
         countIf(error != '') AS errors,
         countIf(error = '' AND label != '') AS labelled,
         countIf(error = '' AND label != '' AND label = predicted) AS correct
  FROM (
    SELECT version, ${BUCKET_SQL} AS bucket, predicted, error, ${CONF_BIN_SQL} AS conf, cityHash64(request_id) AS h
    FROM ${predictions} FINAL
    WHERE model = {model:String} AND variant != 'shadow' AND ${windowCondition()}
      ${byVersion ? "AND version = {version:String}" : ""}
  ) AS p
  LEFT JOIN (SELECT cityHash64(request_id) AS h, label FROM ${labels} FINAL WHERE model = {model:String}) AS l ON p.h = l.h
  GROUP BY GROUPING SETS ((version, bucket), (version, label, predicted), (version, bucket, conf))
  SETTINGS join_algorithm = 'hash'`;

interface Row {
  version: string;
  bucket: number;
  label: string;
  predicted: string;
  conf: number;
  g_label: number;
  g_conf: number;
  rows: number;
  errors: number;
  labelled: number;
  correct: number;
}

interface Tally {
  rows: number;
  errors: number;
  labelled: number;
  correct: number;
}

const emptyTally = (): Tally => ({ rows: 0, errors: 0, labelled: 0, correct: 0 });

function addTally(into: Tally, r: Tally): void {
  into.rows += r.rows;
  into.errors += r.errors;
  into.labelled += r.labelled;
  into.correct += r.correct;
}

/** Realized accuracy (labels joined in SQL) beside the CBPE estimate, overall, per version and per time bucket. */
export async function getAccuracy(store: Store, query: AccuracyQuery): Promise<AccuracyReport> {
  const { model } = query;
  const window = resolveWindow(query.window);
  const bucketSeconds = bucketSecondsFor(window, query.bucketSeconds);
  const versions = await modelVersions(store, model);
  if (query.version !== undefined) await versionInfo(store, model, query.version);
  const sql = ACCURACY_SQL(store.table("predictions"), store.table("labels"), query.version !== undefined);
  const params = { model, version: query.version ?? "", bucketUs: bucketSeconds * 1e6, ...windowParams(window) };
  const rows = (await store.rows<Row>(sql, params)).map((r) => ({
    ...r,
    bucket: Number(r.bucket),
    conf: Number(r.conf),
    rows: Number(r.rows),
    errors: Number(r.errors),
    labelled: Number(r.labelled),
    correct: Number(r.correct),
  }));

  const seen = [...new Set(rows.map((r) => r.version))].sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
  const infos = new Map(await Promise.all(seen.map(async (v) => [v, await versionInfo(store, model, v).catch(() => null)] as const)));
  const notes: string[] = [];

  // Class order: the newest registered schema's classes, then any other class seen in the rows.
  const classes = [...(versions[versions.length - 1]?.schema.classes ?? [])];
  const addClass = (c: string) => c !== "" && !classes.includes(c) && classes.push(c);
  for (const v of seen) infos.get(v)?.meta.schema.classes.forEach(addClass);

  const totals = new Map<string, Tally>();
  const buckets = new Map<number, Tally>();
  const cbpeByVersion = new Map<string, CbpeSum>();
  const cbpeByBucket = new Map<number, CbpeSum>();
  const confusionRows: Row[] = [];
  for (const r of rows) {
    if (r.g_label === 0) {
      if (r.label !== "" && r.predicted !== "") {
        addClass(r.label);
        addClass(r.predicted);
        confusionRows.push(r);
      }
    } else if (r.g_conf === 0) {
      const calibrator = calibratorFor(infos.get(r.version)?.baseline ?? null);
      const answered = r.rows - r.errors;
      if (!calibrator || answered === 0) continue;
      getOr(cbpeByVersion, r.version, () => new CbpeSum()).add(calibrator, r.conf, answered);
      getOr(cbpeByBucket, r.bucket, () => new CbpeSum()).add(calibrator, r.conf, answered);
    } else {
      addTally(getOr(totals, r.version, emptyTally), r);
      addTally(getOr(buckets, r.bucket, emptyTally), r);
    }
  }
  for (const v of seen) if (!calibratorFor(infos.get(v)?.baseline ?? null)) notes.push(`version ${v} has no baseline calibration; its rows are left out of the estimate`);

  const confusionOf = (version?: string): number[][] => {
    const matrix = classes.map(() => classes.map(() => 0));
    for (const r of confusionRows) {
      if (version === undefined || r.version === version) matrix[classes.indexOf(r.label)]![classes.indexOf(r.predicted)]! += r.labelled;
    }
    return matrix;
  };

  const overallTally = emptyTally();
  const overallCbpe = new CbpeSum();
  for (const v of seen) {
    addTally(overallTally, totals.get(v) ?? emptyTally());
    const c = cbpeByVersion.get(v);
    if (c) overallCbpe.merge(c);
  }
  const confusion = confusionOf();
  const byVersion = seen.map((version) => {
    const m = confusionOf(version);
    return { version, ...figures(totals.get(version) ?? emptyTally(), m, classes, cbpeByVersion.get(version)), confusion: m };
  });
  const trend = bucketStarts(window, bucketSeconds).map((startUs) => {
    const t = buckets.get(startUs) ?? emptyTally();
    return {
      startUs,
      start: iso(startUs),
      predictions: t.rows - t.errors,
      errors: t.errors,
      labelled: t.labelled,
      correct: t.correct,
      accuracy: t.labelled > 0 ? t.correct / t.labelled : null,
      estimated: cbpeByBucket.get(startUs)?.result()?.accuracy ?? null,
    };
  });
  if (overallTally.rows === 0) notes.push("no served predictions in the window");
  else if (overallTally.labelled === 0) notes.push("no labels yet for the window's predictions; only the estimate is available");
  return {
    model,
    version: query.version ?? null,
    window,
    bucketSeconds,
    ...figures(overallTally, confusion, classes, overallCbpe),
    classes,
    confusion,
    byVersion,
    trend,
    notes,
  };
}

function figures(t: Tally, confusion: number[][], classes: string[], cbpe: CbpeSum | undefined): AccuracyFigures {
  const predictions = t.rows - t.errors;
  const metrics = t.labelled > 0 ? classificationMetrics(confusion) : null;
  return {
    predictions,
    errors: t.errors,
    labelled: t.labelled,
    labelCoverage: predictions > 0 ? t.labelled / predictions : 0,
    correct: t.correct,
    accuracy: t.labelled > 0 ? t.correct / t.labelled : null,
    interval: t.labelled > 0 ? wilsonInterval(t.correct, t.labelled) : null,
    macroF1: metrics?.macroF1 ?? null,
    perClass: metrics ? metrics.perClass.map((m, i) => ({ class: classes[i]!, ...m })) : [],
    estimated: cbpe?.result() ?? null,
  };
}

function getOr<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) map.set(key, (v = make()));
  return v;
}
