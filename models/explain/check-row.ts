import type { ModelSchema, Row } from "../schema.ts";

/** A row or request an explanation cannot be computed for; `field` names what to fix. */
export class ExplainInputError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
    /** 404: the thing named does not exist (a request id never logged); 400 otherwise. */
    readonly status: 400 | 404 = 400,
  ) {
    super(`${field}: ${reason}`);
  }
}

/**
 * A posted row checked against the version's schema, as /predict checks its rows: every feature
 * present (null for missing), no unknown names, numbers for numeric features and strings for
 * categorical ones. The first problem is thrown, naming the field.
 */
export function checkRow(features: Record<string, unknown>, schema: ModelSchema, at = "features"): Row {
  const known = new Map(schema.features.map((f) => [f.name, f.type]));
  for (const key of Object.keys(features)) {
    if (!known.has(key)) throw new ExplainInputError(`${at}.${key}`, `unknown feature for this model; known features: ${[...known.keys()].join(", ")}`);
  }
  for (const f of schema.features) {
    if (!Object.hasOwn(features, f.name)) throw new ExplainInputError(`${at}.${f.name}`, `missing (expected ${f.type}; null marks a missing value)`);
    const value = features[f.name];
    if (value === null) continue;
    if (f.type === "numeric" && !(typeof value === "number" && Number.isFinite(value))) throw new ExplainInputError(`${at}.${f.name}`, "must be a finite number or null");
    if (f.type === "categorical" && typeof value !== "string") throw new ExplainInputError(`${at}.${f.name}`, "must be a string or null");
  }
  return features as Row;
}
