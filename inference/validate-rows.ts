import type { ModelSchema, Row } from "../models/schema.ts";

export interface FieldError {
  field: string;
  reason: string;
  /** Bounded label for model_prediction_errors_total. */
  code: "missing_feature" | "unknown_feature" | "wrong_type" | "not_finite" | "out_of_range" | "malformed_text" | "not_an_object";
}

/** Models compute in float32: a larger magnitude becomes Infinity inside the model and NaN in its output. */
const FLOAT32_MAX = 3.4028234663852886e38;
/** With the u flag this matches only unpaired surrogates: text no UTF-8 store can hold. */
const LONE_SURROGATE = /[\ud800-\udfff]/u;

const KEY_CACHE = new WeakMap<ModelSchema, Map<string, "numeric" | "categorical">>();

function featureTypes(schema: ModelSchema): Map<string, "numeric" | "categorical"> {
  let types = KEY_CACHE.get(schema);
  if (!types) {
    types = new Map(schema.features.map((f) => [f.name, f.type]));
    KEY_CACHE.set(schema, types);
  }
  return types;
}

/**
 * Checks rows against a version's schema by hand rather than through a generated validator: this
 * runs on every request, and each message names the exact field. `null` is an explicit missing
 * value (served, imputed, counted); an absent key is a caller's mistake.
 */
export function validateRows(instances: readonly unknown[], schema: ModelSchema, maxErrors = 20): FieldError[] {
  const types = featureTypes(schema);
  const errors: FieldError[] = [];
  for (let i = 0; i < instances.length && errors.length < maxErrors; i++) {
    checkRow(instances[i], i, schema, types, errors);
  }
  return errors.slice(0, maxErrors);
}

function checkRow(
  row: unknown,
  i: number,
  schema: ModelSchema,
  types: Map<string, "numeric" | "categorical">,
  errors: FieldError[],
): void {
  const at = `instances[${i}]`;
  if (typeof row !== "object" || row === null || Array.isArray(row)) {
    errors.push({ field: at, reason: "must be an object of features by name", code: "not_an_object" });
    return;
  }
  const record = row as Record<string, unknown>;
  for (const f of schema.features) {
    if (!Object.hasOwn(record, f.name)) errors.push({ field: `${at}.${f.name}`, reason: `missing (expected ${f.type})`, code: "missing_feature" });
  }
  for (const key of Object.keys(record)) {
    const type = types.get(key);
    const value = record[key];
    if (!type) errors.push({ field: `${at}.${key}`, reason: "unknown feature for this model", code: "unknown_feature" });
    else if (value === null) continue;
    else if (type === "numeric" && typeof value !== "number") errors.push({ field: `${at}.${key}`, reason: `must be a number or null, got ${typeName(value)}`, code: "wrong_type" });
    else if (type === "numeric" && !Number.isFinite(value)) errors.push({ field: `${at}.${key}`, reason: "must be finite", code: "not_finite" });
    else if (type === "numeric" && Math.abs(value as number) > FLOAT32_MAX) errors.push({ field: `${at}.${key}`, reason: "must be within ±3.4e38 (the model computes in float32)", code: "out_of_range" });
    else if (type === "categorical" && typeof value !== "string") errors.push({ field: `${at}.${key}`, reason: `must be a string or null, got ${typeName(value)}`, code: "wrong_type" });
    else if (type === "categorical" && LONE_SURROGATE.test(value as string)) errors.push({ field: `${at}.${key}`, reason: "must be well-formed Unicode (it holds an unpaired surrogate)", code: "malformed_text" });
  }
}

function typeName(v: unknown): string {
  return Array.isArray(v) ? "array" : v === null ? "null" : typeof v;
}

/** Narrowing after validateRows returned no errors. */
export function asRows(instances: readonly unknown[]): Row[] {
  return instances as Row[];
}
