import { z } from "zod";
import { MISSING_BIN } from "../models/baseline.ts";
import { listVersions, RegistryError, type ModelVersion } from "../models/registry.ts";
import type { Store } from "../store/client.ts";
import { variants, type PredictionRow } from "../store/tables.ts";
import { featureRefs, UnknownFeatureError, type FeatureRef } from "./schema-index.ts";
import { resolveWindow, windowCondition, windowParams, windowSchema, type ResolvedWindow } from "./window.ts";
import { iso } from "../format.ts";

const operators = { eq: "=", neq: "!=", lt: "<", lte: "<=", gt: ">", gte: ">=" } as const;

export const featureFilterSchema = z
  .object({
    feature: z.string().min(1).max(256),
    op: z.enum(["eq", "neq", "lt", "lte", "gt", "gte"]),
    /** A number for numeric features, a string for categorical ones; null with eq/neq means missing / present. */
    value: z.union([z.number().finite(), z.string().max(1024), z.null()]),
  })
  .strict();

/** Filters for queryLogs; the MCP tool takes the same object. Strings are compared as values, never spliced into SQL. */
export const logFiltersSchema = z
  .object({
    model: z.string().min(1).max(256),
    window: windowSchema.optional(),
    version: z.string().max(256).optional(),
    variant: z.enum(variants).optional(),
    requestId: z.string().max(1024).optional(),
    predicted: z.string().max(1024).optional(),
    /** The true class (labelled rows only). */
    label: z.string().max(1024).optional(),
    hasLabel: z.boolean().optional(),
    /** true: labelled answered rows whose prediction matched the label; false: labelled answered rows that missed. */
    correct: z.boolean().optional(),
    minConfidence: z.number().min(0).max(1).optional(),
    maxConfidence: z.number().min(0).max(1).optional(),
    hasError: z.boolean().optional(),
    /** The error text up to its first ':' (e.g. "inference_failed"). */
    errorReason: z.string().max(1024).optional(),
    features: z.array(featureFilterSchema).max(20).optional(),
    /** true: rows another version answered because the routed one could not; false: the others. */
    hasFallback: z.boolean().optional(),
    /** true: answers from the prediction cache. */
    cached: z.boolean().optional(),
    /** Rows of this batch job; "" for interactive requests only. */
    jobId: z.string().max(256).optional(),
    orderBy: z.enum(["ts", "confidence", "latency"]).default("ts"),
    order: z.enum(["asc", "desc"]).default("desc"),
    limit: z.number().int().min(1).max(5000).default(100),
    /** nextCursor of the previous page (same filters and ordering). */
    cursor: z.string().max(4096).optional(),
    /** Counts per value of this column instead of rows. */
    groupBy: z.enum(["version", "variant", "predicted", "label", "error", "fallback", "job"]).optional(),
  })
  .strict();

export type LogFilters = z.input<typeof logFiltersSchema>;
export type FeatureFilter = z.infer<typeof featureFilterSchema>;

export interface LogRow {
  requestId: string;
  ts: string;
  tsUs: number;
  version: string;
  variant: string;
  predicted: string | null;
  confidence: number | null;
  /** By class name when the version's schema is known, else in output order. */
  probabilities: Record<string, number> | number[];
  label: string | null;
  /** Null when unlabelled or errored. */
  correct: boolean | null;
  latencyMs: number;
  error: string | null;
  correlationId: string;
  /** By name, zipped from the logged arrays with the version's schema; null when raw values were not logged. */
  features: Record<string, number | string | null> | null;
  featureHash: string;
  /** Why another version answered (inference_failed, non_finite_output, timeout, load_failed); null when the routed one did. */
  fallback: string | null;
  /** Answered from the prediction cache. */
  cached: boolean;
  /** The batch job the row belongs to; null for a request. */
  jobId: string | null;
}

export interface LogPage {
  model: string;
  window: ResolvedWindow;
  rows: LogRow[];
  /** With groupBy: counts per value, largest first. */
  groups?: { key: string; rows: number }[];
  returned: number;
  /** More rows (or groups) match than were returned. */
  truncated: boolean;
  /** Pass as `cursor` for the next page; null on the last page (and with groupBy). */
  nextCursor: string | null;
  notes: string[];
}

export class LogQueryError extends Error {}

const ORDER_COLUMN = { ts: null, confidence: "confidence", latency: "latency_us" } as const;
const CURSOR_KEY_TYPE = { ts: null, confidence: "Float32", latency: "UInt32" } as const;
const GROUP_KEY = {
  version: "version",
  variant: "variant",
  predicted: "predicted",
  label: "label",
  error: "trimBoth(splitByChar(':', error)[1])",
  fallback: "fallback",
  job: "job_id",
} as const;

const cursorSchema = z.object({
  o: z.enum(["ts", "confidence", "latency"]),
  d: z.enum(["asc", "desc"]),
  k: z.number().nullable(),
  t: z.number().int(),
  r: z.string(),
  v: z.string(),
});
type Cursor = z.infer<typeof cursorSchema>;

/*
 * Two phases so a page stays cheap on a large window: the first query filters, orders and limits
 * reading only narrow columns (the labels join only when a label filter needs it); the second
 * fetches the wide columns (feature arrays, probabilities) of just that page by request id, inside
 * the page's time range so the primary key prunes, and its labels by the labels' primary key.
 * A page ordered by ts touches a few granules; one ordered by confidence or latency has rows
 * spread over the window and reads a granule of wide columns per row.
 * Pagination is keyset on (order column, ts, request_id, variant): unique per row, so pages
 * neither overlap nor skip, whatever arrives meanwhile in other parts of the window.
 */
const KEYS_SQL = (predictions: string, labels: string, join: boolean, where: string, orderBy: string, keyExpr: string) => `
  SELECT toUnixTimestamp64Micro(ts) AS ts_us, request_id, variant, ${keyExpr} AS k
  FROM ${predictions} AS p FINAL
  ${join ? LABEL_JOIN(labels) : ""}
  WHERE ${where}
  ORDER BY ${orderBy}
  LIMIT {limit:UInt32}
  ${join ? "SETTINGS join_algorithm = 'hash'" : ""}`;

const GROUPS_SQL = (predictions: string, labels: string, join: boolean, where: string, key: string) => `
  SELECT toString(${key}) AS key, count() AS rows
  FROM ${predictions} AS p FINAL
  ${join ? LABEL_JOIN(labels) : ""}
  WHERE ${where}
  GROUP BY key ORDER BY rows DESC, key
  LIMIT {limit:UInt32}
  ${join ? "SETTINGS join_algorithm = 'hash'" : ""}`;

const LABEL_JOIN = (labels: string) =>
  `LEFT JOIN (SELECT cityHash64(request_id) AS h, label FROM ${labels} FINAL WHERE model = {model:String}) AS l ON cityHash64(p.request_id) = l.h`;

// No FINAL here: the keys came from a FINAL read, and fetchPage keeps one row per (request_id,
// variant); copies of a retried request differ at most in latency.
const PAGE_SQL = (predictions: string) => `
  SELECT toUnixTimestamp64Micro(ts) AS ts_us, request_id, version, variant, feature_num, feature_cat, feature_hash,
         predicted, probabilities, confidence, latency_us, error, correlation_id, fallback, cached, job_id
  FROM ${predictions}
  WHERE model = {model:String} AND ts >= fromUnixTimestamp64Micro({minTs:Int64}) AND ts <= fromUnixTimestamp64Micro({maxTs:Int64})
    AND request_id IN {ids:Array(String)}`;

const PAGE_LABELS_SQL = (labels: string) => `
  SELECT request_id, label FROM ${labels} FINAL WHERE model = {model:String} AND request_id IN {ids:Array(String)}`;

interface KeyRow {
  ts_us: number;
  request_id: string;
  variant: string;
  k: number;
}

/** A logged prediction as the page query selects it: the stored row with ts as µs. */
type PageRow = Omit<PredictionRow, "ts" | "model" | "feature_bin"> & { ts_us: number };

/** Rows (or grouped counts) of the prediction log matching the filters, newest first by default, one keyset page at a time. */
export async function queryLogs(store: Store, input: LogFilters): Promise<LogPage> {
  const parsed = logFiltersSchema.safeParse(input);
  if (!parsed.success) {
    throw new LogQueryError(`invalid log filters: ${parsed.error.issues.map((i) => `${i.path.join(".") || "filters"}: ${i.message}`).join("; ")}`);
  }
  const f = parsed.data;
  const window = resolveWindow(f.window);
  const params: Record<string, unknown> = { model: f.model, ...windowParams(window) };
  const where = ["model = {model:String}", windowCondition()];
  const add = (condition: string, values: Record<string, unknown> = {}) => {
    where.push(condition);
    Object.assign(params, values);
  };
  if (f.version !== undefined) add("version = {version:String}", { version: f.version });
  if (f.variant !== undefined) add("variant = {variant:String}", { variant: f.variant });
  if (f.requestId !== undefined) add("request_id = {requestId:String}", { requestId: f.requestId });
  if (f.predicted !== undefined) add("predicted = {predicted:String}", { predicted: f.predicted });
  if (f.minConfidence !== undefined) add("confidence >= {minConfidence:Float64}", { minConfidence: f.minConfidence });
  if (f.maxConfidence !== undefined) add("confidence <= {maxConfidence:Float64}", { maxConfidence: f.maxConfidence });
  if (f.hasError !== undefined) add(f.hasError ? "error != ''" : "error = ''");
  if (f.errorReason !== undefined) add(`${GROUP_KEY.error} = {errorReason:String}`, { errorReason: f.errorReason });
  if (f.label !== undefined) add("label = {label:String}", { label: f.label });
  if (f.hasLabel !== undefined) add(f.hasLabel ? "label != ''" : "label = ''");
  if (f.hasFallback !== undefined) add(f.hasFallback ? "fallback != ''" : "fallback = ''");
  if (f.cached !== undefined) add(`cached = ${f.cached ? 1 : 0}`);
  if (f.jobId !== undefined) add("job_id = {jobId:String}", { jobId: f.jobId });
  if (f.correct !== undefined) add(`error = '' AND label != '' AND label ${f.correct ? "=" : "!="} predicted`);
  const join = f.label !== undefined || f.hasLabel !== undefined || f.correct !== undefined || f.groupBy === "label";

  const versions = await listVersions(store, f.model);
  if (f.features?.length) {
    const scoped = f.version !== undefined ? versions.filter((v) => v.version === f.version) : versions;
    if (scoped.length === 0) {
      throw new RegistryError(
        versions.length === 0 ? `unknown model '${f.model}'` : `unknown version '${f.version}' of model '${f.model}' (known: ${versions.map((v) => v.version).join(", ")})`,
      );
    }
    f.features.forEach((filter, i) => {
      const { condition, values } = featureCondition(filter, i, scoped);
      add(condition, values);
    });
  }

  const notes: string[] = [];
  const predictions = store.table("predictions");
  const labels = store.table("labels");
  if (f.groupBy) {
    if (f.cursor !== undefined) throw new LogQueryError("cursor does not apply with groupBy");
    const groups = await store.rows<{ key: string; rows: number }>(GROUPS_SQL(predictions, labels, join, where.join(" AND "), GROUP_KEY[f.groupBy]), {
      ...params,
      limit: f.limit + 1,
    });
    const truncated = groups.length > f.limit;
    const kept = groups.slice(0, f.limit).map((g) => ({ key: g.key, rows: Number(g.rows) }));
    if (f.groupBy === "label") notes.push("key '' counts unlabelled rows");
    if (f.groupBy === "error") notes.push("key '' counts rows without an error; other keys are the error text up to ':'");
    if (f.groupBy === "fallback") notes.push("key '' counts rows the routed version answered; other keys are why another version answered");
    if (f.groupBy === "job") notes.push("key '' counts interactive requests; other keys are batch job ids");
    return { model: f.model, window, rows: [], groups: kept, returned: kept.length, truncated, nextCursor: null, notes };
  }

  const orderColumn = ORDER_COLUMN[f.orderBy];
  const dir = f.order === "asc" ? "ASC" : "DESC";
  const tuple = [...(orderColumn ? [orderColumn] : []), "ts", "request_id", "variant"];
  if (f.cursor !== undefined) {
    const c = decodeCursor(f.cursor, f.orderBy, f.order);
    const keyType = CURSOR_KEY_TYPE[f.orderBy];
    if (keyType && c.k === null) throw new LogQueryError("invalid cursor: it carries no sort key");
    const after = [
      ...(keyType ? [`{cursorKey:${keyType}}`] : []),
      "fromUnixTimestamp64Micro({cursorTs:Int64})",
      "{cursorRequestId:String}",
      "{cursorVariant:String}",
    ];
    add(`(${tuple.join(", ")}) ${f.order === "asc" ? ">" : "<"} (${after.join(", ")})`, {
      ...(keyType ? { cursorKey: c.k } : {}),
      cursorTs: c.t,
      cursorRequestId: c.r,
      cursorVariant: c.v,
    });
  }
  const keys = await store.rows<KeyRow>(
    KEYS_SQL(predictions, labels, join, where.join(" AND "), tuple.map((c) => `${c} ${dir}`).join(", "), orderColumn ?? "0"),
    { ...params, limit: f.limit + 1 },
  );
  const truncated = keys.length > f.limit;
  const page = keys.slice(0, f.limit).map((k) => ({ ...k, ts_us: Number(k.ts_us), k: Number(k.k) }));
  const rows = await fetchPage(store, f.model, page, versions);
  const last = page[page.length - 1];
  const nextCursor =
    truncated && last ? encodeCursor({ o: f.orderBy, d: f.order, k: orderColumn ? last.k : null, t: last.ts_us, r: last.request_id, v: last.variant }) : null;
  if (rows.some((r) => r.features === null)) notes.push("some rows were logged without raw feature values (MLWATCH_LOG_FEATURES=hash); their features are null");
  return { model: f.model, window, rows, returned: rows.length, truncated, nextCursor, notes };
}

/** The wide columns and labels of one page, in the page's order. */
async function fetchPage(store: Store, model: string, page: KeyRow[], versions: ModelVersion[]): Promise<LogRow[]> {
  if (page.length === 0) return [];
  const ids = [...new Set(page.map((k) => k.request_id))];
  const minTs = Math.min(...page.map((k) => k.ts_us));
  const maxTs = Math.max(...page.map((k) => k.ts_us));
  const [full, labelRows] = await Promise.all([
    store.rows<PageRow>(PAGE_SQL(store.table("predictions")), { model, ids, minTs, maxTs }),
    store.rows<{ request_id: string; label: string }>(PAGE_LABELS_SQL(store.table("labels")), { model, ids }),
  ]);
  const byKey = new Map(full.map((r) => [`${r.request_id}\u0000${r.variant}`, r]));
  const labelOf = new Map(labelRows.map((l) => [l.request_id, l.label]));
  const schemas = new Map(versions.map((v) => [v.version, { refs: featureRefs(v.schema), classes: v.schema.classes }]));
  return page.flatMap((k) => {
    const r = byKey.get(`${k.request_id}\u0000${k.variant}`);
    if (!r) return [];
    const schema = schemas.get(r.version);
    const label = labelOf.get(r.request_id) ?? null;
    const answered = r.error === "";
    return [
      {
        requestId: r.request_id,
        ts: iso(Number(r.ts_us)),
        tsUs: Number(r.ts_us),
        version: r.version,
        variant: r.variant,
        predicted: answered ? r.predicted : null,
        confidence: answered ? Number(r.confidence) : null,
        probabilities:
          schema && r.probabilities.length === schema.classes.length
            ? Object.fromEntries(schema.classes.map((c, i) => [c, Number(r.probabilities[i])]))
            : r.probabilities.map(Number),
        label,
        correct: label !== null && answered ? r.predicted === label : null,
        latencyMs: Number(r.latency_us) / 1000,
        error: answered ? null : r.error,
        correlationId: r.correlation_id,
        features: schema ? zipFeatures(schema.refs, r) : null,
        featureHash: r.feature_hash,
        fallback: r.fallback === "" ? null : r.fallback,
        cached: Number(r.cached) === 1,
        jobId: r.job_id === "" ? null : r.job_id,
      },
    ];
  });
}

function zipFeatures(refs: FeatureRef[], r: PageRow): Record<string, number | string | null> | null {
  if (r.feature_num.length === 0 && r.feature_cat.length === 0) return null;
  return Object.fromEntries(
    refs.map((f) => {
      if (f.type === "numeric") {
        const v = r.feature_num[f.rawPos - 1];
        return [f.name, v === null || v === undefined ? null : Number(v)];
      }
      const v = r.feature_cat[f.rawPos - 1];
      return [f.name, v === undefined || v === "" ? null : v];
    }),
  );
}

/**
 * One feature filter as SQL over every version it may match: versions are grouped by where the
 * feature sits in their arrays, and only those positions (integers from the registered schemas)
 * and the parameter names reach the SQL text; the value is a parameter.
 */
function featureCondition(filter: FeatureFilter, i: number, versions: ModelVersion[]): { condition: string; values: Record<string, unknown> } {
  const groups = new Map<string, { ref: FeatureRef; versions: string[] }>();
  for (const v of versions) {
    const ref = featureRefs(v.schema).find((r) => r.name === filter.feature);
    if (!ref) continue;
    const key = `${ref.type}:${ref.binPos}:${ref.rawPos}`;
    const g = groups.get(key) ?? { ref, versions: [] };
    g.versions.push(v.version);
    groups.set(key, g);
  }
  if (groups.size === 0) {
    const known = [...new Set(versions.flatMap((v) => v.schema.features.map((f) => f.name)))];
    const scope = versions.length === 1 ? `model '${versions[0]!.model}' version ${versions[0]!.version}` : `model '${versions[0]!.model}'`;
    throw new UnknownFeatureError(filter.feature, known, scope);
  }
  const values: Record<string, unknown> = {};
  const parts = [...groups.values()].map((g, j) => {
    const p = `f${i}_${j}`;
    values[`${p}_versions`] = g.versions;
    values[`${p}_pos`] = filter.value === null ? g.ref.binPos : g.ref.rawPos;
    return `(version IN {${p}_versions:Array(String)} AND ${comparison(filter, g.ref, p)})`;
  });
  if (filter.value !== null) values[`f${i}_value`] = filter.value;
  return { condition: `(${parts.join(" OR ")})`, values };

  function comparison(ff: FeatureFilter, ref: FeatureRef, p: string): string {
    if (ff.value === null) {
      if (ff.op !== "eq" && ff.op !== "neq") throw new LogQueryError(`feature '${ff.feature}': value null (missing) takes op eq or neq, not ${ff.op}`);
      return `feature_bin[{${p}_pos:UInt32}] ${ff.op === "eq" ? "=" : "!="} ${MISSING_BIN}`;
    }
    if (ref.type === "numeric") {
      if (typeof ff.value !== "number") throw new LogQueryError(`feature '${ff.feature}' is numeric; value must be a number, got '${ff.value}'`);
      return `feature_num[{${p}_pos:UInt32}] ${operators[ff.op]} {f${i}_value:Float64}`;
    }
    if (typeof ff.value !== "string") throw new LogQueryError(`feature '${ff.feature}' is categorical; value must be a string, got ${ff.value}`);
    if (ff.op !== "eq" && ff.op !== "neq") throw new LogQueryError(`feature '${ff.feature}' is categorical; op must be eq or neq, not ${ff.op}`);
    return `feature_cat[{${p}_pos:UInt32}] ${operators[ff.op]} {f${i}_value:String}`;
  }
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString("base64url");
}

function decodeCursor(text: string, orderBy: Cursor["o"], order: Cursor["d"]): Cursor {
  let c: Cursor;
  try {
    c = cursorSchema.parse(JSON.parse(Buffer.from(text, "base64url").toString("utf8")));
  } catch {
    throw new LogQueryError("invalid cursor: pass the nextCursor of a previous page unchanged");
  }
  if (c.o !== orderBy || c.d !== order) {
    throw new LogQueryError(`the cursor belongs to orderBy '${c.o}' ${c.d}; this query orders by '${orderBy}' ${order}`);
  }
  return c;
}
