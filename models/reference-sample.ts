import type { Store } from "../store/client.ts";
import { referenceRowsTable, type ReferenceRow } from "../store/reference-table.ts";
import { Rng, subSeed } from "./rng.ts";
import type { Example, ModelSchema, Row } from "./schema.ts";

/** Enough rows to reweight toward a shifted population; small enough to store for every version. */
export const REFERENCE_SAMPLE_ROWS = 20_000;

/** Keeps a seeded sample (without replacement) of at most REFERENCE_SAMPLE_ROWS of the examples. */
export async function storeReferenceSample(store: Store, model: string, version: string, schema: ModelSchema, examples: readonly Example[], seed: number): Promise<number> {
  const sample = examples.length <= REFERENCE_SAMPLE_ROWS ? [...examples] : new Rng(subSeed(seed, "reference-sample")).shuffle([...examples]).slice(0, REFERENCE_SAMPLE_ROWS);
  const numeric = schema.features.filter((f) => f.type === "numeric");
  const categorical = schema.features.filter((f) => f.type === "categorical");
  const rows: ReferenceRow[] = sample.map((e, i) => ({
    model,
    version,
    row_index: i,
    feature_num: numeric.map((f) => numberOrNull(e.row[f.name])),
    feature_cat: categorical.map((f) => stringOrEmpty(e.row[f.name])),
    label: schema.classes[e.label] ?? "",
  }));
  for (let k = 0; k < rows.length; k += 10_000) await store.insert(referenceRowsTable.name, rows.slice(k, k + 10_000));
  return rows.length;
}

/**
 * The version's reference sample as examples of `schema` (which may have gained categories since).
 * Empty for a version registered before samples were kept: the caller trains on the log alone.
 */
export async function readReferenceSample(store: Store, model: string, version: string, schema: ModelSchema): Promise<Example[]> {
  const rows = await store.rows<Pick<ReferenceRow, "feature_num" | "feature_cat" | "label">>(
    `SELECT feature_num, feature_cat, label FROM ${store.table(referenceRowsTable.name)} FINAL
     WHERE model = {model:String} AND version = {version:String} ORDER BY row_index`,
    { model, version },
  );
  const numeric = schema.features.filter((f) => f.type === "numeric");
  const categorical = schema.features.filter((f) => f.type === "categorical");
  const classIndex = new Map(schema.classes.map((c, i) => [c, i]));
  return rows.flatMap((r) => {
    const label = classIndex.get(r.label);
    if (label === undefined || r.feature_num.length !== numeric.length || r.feature_cat.length !== categorical.length) return [];
    const row: Row = {};
    numeric.forEach((f, i) => (row[f.name] = r.feature_num[i] ?? null));
    categorical.forEach((f, i) => (row[f.name] = r.feature_cat[i] || null));
    return [{ row, label }];
  });
}

function numberOrNull(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function stringOrEmpty(v: unknown): string {
  return typeof v === "string" ? v : "";
}
