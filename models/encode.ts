import type { FeatureValue, ModelSchema, Row } from "./schema.ts";

/**
 * The one encoding shared by training and serving, so the model never sees features laid out
 * differently from how it learnt them.
 *
 * Layout, in schema feature order: a numeric feature takes one slot holding its raw value; a
 * categorical feature takes one slot per category plus a final "unknown" slot that receives
 * unseen categories and missing values (one-hot).
 *
 * Missing numeric values (null, absent, NaN, ±Infinity, or not a number) are imputed with `fill[k]`, where
 * k is the feature's position among the numeric features. Training passes the training means,
 * and serving must pass the same values (`imputationFill` in baseline.ts reads them from the
 * saved baseline); standardization then maps an imputed value to exactly 0. Without `fill` a
 * missing value becomes the raw value 0, which the model reads literally (e.g. income 0), not
 * as "average".
 */

interface EncodePlan {
  width: number;
  names: string[];
  /** First slot of each feature. */
  offsets: Int32Array;
  /** Category → index within the feature's block; null for numeric features. */
  lookups: (Map<string, number> | null)[];
  /** Position of each feature among the numeric features (index into `fill`); -1 for categorical. */
  numericOrdinals: Int32Array;
}

// Serving encodes every request batch with the same schema object: build the plan once per schema.
const plans = new WeakMap<ModelSchema, EncodePlan>();

function planFor(schema: ModelSchema): EncodePlan {
  const cached = plans.get(schema);
  if (cached) return cached;
  const n = schema.features.length;
  const plan: EncodePlan = { width: 0, names: [], offsets: new Int32Array(n), lookups: [], numericOrdinals: new Int32Array(n) };
  let numeric = 0;
  schema.features.forEach((f, i) => {
    plan.names.push(f.name);
    plan.offsets[i] = plan.width;
    if (f.type === "numeric") {
      plan.lookups.push(null);
      plan.numericOrdinals[i] = numeric++;
      plan.width += 1;
    } else {
      plan.lookups.push(new Map(f.categories.map((c, j) => [c, j])));
      plan.numericOrdinals[i] = -1;
      plan.width += f.categories.length + 1;
    }
  });
  plans.set(schema, plan);
  return plan;
}

export function encodedWidth(schema: ModelSchema): number {
  return planFor(schema).width;
}

/** The slot of each numeric feature, in schema order: the slots standardization applies to. */
export function numericSlots(schema: ModelSchema): number[] {
  const plan = planFor(schema);
  return Array.from(plan.offsets).filter((_, i) => plan.lookups[i] === null);
}

/** Row-major [rows.length, encodedWidth(schema)]. */
export function encodeRows(rows: readonly Row[], schema: ModelSchema, fill?: readonly number[]): Float32Array {
  const plan = planFor(schema);
  const out = new Float32Array(rows.length * plan.width);
  for (let r = 0; r < rows.length; r++) encodeInto(rows[r]!, plan, fill, out, r * plan.width);
  return out;
}

function encodeInto(row: Row, plan: EncodePlan, fill: readonly number[] | undefined, out: Float32Array, base: number): void {
  for (let i = 0; i < plan.names.length; i++) {
    const value = row[plan.names[i]!];
    const slot = base + plan.offsets[i]!;
    const lookup = plan.lookups[i];
    if (lookup) {
      out[slot + categoryIndex(value, lookup)] = 1;
    } else {
      out[slot] = isPresentNumber(value) ? value : (fill?.[plan.numericOrdinals[i]!] ?? 0);
    }
  }
}

/** Index in the block; lookup.size (the unknown slot) for unseen or missing. */
function categoryIndex(value: FeatureValue | undefined, lookup: Map<string, number>): number {
  if (value === null || value === undefined) return lookup.size;
  // JSON clients sometimes send a numeric code for a category; match it by its text.
  return lookup.get(typeof value === "string" ? value : String(value)) ?? lookup.size;
}

function isPresentNumber(value: FeatureValue | undefined): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/** Categorical features whose value is present but not one the model was trained on. */
export function unknownCategories(row: Row, schema: ModelSchema): string[] {
  const plan = planFor(schema);
  const unknown: string[] = [];
  for (let i = 0; i < plan.names.length; i++) {
    const lookup = plan.lookups[i];
    const value = row[plan.names[i]!];
    if (lookup && value !== null && value !== undefined && categoryIndex(value, lookup) === lookup.size) {
      unknown.push(plan.names[i]!);
    }
  }
  return unknown;
}
