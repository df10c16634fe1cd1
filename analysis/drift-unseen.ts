// The values outside a categorical feature's known categories that a window's rows carried.
import type { ModelSchema } from "../models/schema.ts";
import type { Store } from "../store/client.ts";
import { windowCondition, windowParams, type ResolvedWindow } from "./window.ts";

/** 1-based categorical position → its most frequent unseen values. */
export type UnseenValues = Map<number, { value: string; rows: number }[]>;

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

/** Values listed per feature. */
const PER_FEATURE = 5;

export async function unseenValues(store: Store, model: string, version: string, schema: ModelSchema, w: ResolvedWindow): Promise<UnseenValues> {
  const categories = schema.features.flatMap((f) => (f.type === "categorical" ? [f.categories] : []));
  const rows = await store.rows<{ pos: number; value: string; n: number }>(UNSEEN_SQL(store.table("predictions")), {
    model,
    version,
    categorical: categories.length,
    categories,
    perFeature: PER_FEATURE,
    ...windowParams(w),
  });
  const out: UnseenValues = new Map();
  for (const r of rows) {
    const list = out.get(Number(r.pos)) ?? [];
    list.push({ value: r.value, rows: Number(r.n) });
    out.set(Number(r.pos), list);
  }
  return out;
}
