import type { FeatureSpec, ModelSchema } from "../models/schema.ts";

/**
 * Where one feature lives in a logged row. `feature_bin` holds every feature in schema order;
 * `feature_num` only the numeric ones and `feature_cat` only the categorical ones, each in schema
 * order. Positions are 1-based, as ClickHouse arrays are, so they go straight into `arr[{i:UInt32}]`.
 */
export interface FeatureRef {
  name: string;
  type: FeatureSpec["type"];
  /** 0-based position in schema.features (and in baseline.features). */
  index: number;
  /** 1-based position in feature_bin. */
  binPos: number;
  /** 1-based position in feature_num (numeric) or feature_cat (categorical). */
  rawPos: number;
  categories?: string[];
}

export class UnknownFeatureError extends Error {
  constructor(
    readonly feature: string,
    readonly known: string[],
    context: string,
  ) {
    super(`unknown feature '${feature}' for ${context}; known features: ${known.join(", ")}`);
  }
}

/** Every feature of a schema with its array positions. */
export function featureRefs(schema: ModelSchema): FeatureRef[] {
  let numeric = 0;
  let categorical = 0;
  return schema.features.map((f, index) => ({
    name: f.name,
    type: f.type,
    index,
    binPos: index + 1,
    rawPos: f.type === "numeric" ? ++numeric : ++categorical,
    ...(f.type === "categorical" ? { categories: f.categories } : {}),
  }));
}

/** Resolves a caller's feature name through the registered schema; unknown names fail listing the known ones. */
export function resolveFeature(schema: ModelSchema, name: string, context = "this model"): FeatureRef {
  const ref = featureRefs(schema).find((f) => f.name === name);
  if (!ref) throw new UnknownFeatureError(name, schema.features.map((f) => f.name), context);
  return ref;
}

export function countByType(schema: ModelSchema): { numeric: number; categorical: number } {
  const numeric = schema.features.filter((f) => f.type === "numeric").length;
  return { numeric, categorical: schema.features.length - numeric };
}

/** Two schemas lay their arrays out the same way (same names, types and categories in the same order). */
export function sameLayout(a: ModelSchema, b: ModelSchema): boolean {
  return JSON.stringify(a.features) === JSON.stringify(b.features);
}
