// Another version's training baseline as the drift reference: is it comparable, and the window's
// rows re-binned under it when the two baselines' bins differ.
import { MISSING_BIN, type ModelBaseline } from "../models/baseline.ts";
import type { ModelSchema } from "../models/schema.ts";
import type { Store } from "../store/client.ts";
import { binCounts, type BinRow, type WindowAggregates } from "./drift-aggregates.ts";
import { featureRefs, sameLayout, type FeatureRef } from "./schema-index.ts";
import { requireBaseline, versionInfo } from "./version.ts";
import { windowCondition, windowParams, type ResolvedWindow } from "./window.ts";


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

export interface OtherBaseline {
  version: string;
  baseline: ModelBaseline;
  binning: "logged bins" | "raw values re-binned";
}

/** The reference version's baseline when one other than the analysed version is asked for; null otherwise. */
export async function otherBaseline(
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

/** The window's bin counts from its raw values binned under the other baseline, in place of the logged bins. */
export async function rebin(store: Store, model: string, version: string, schema: ModelSchema, other: OtherBaseline, w: ResolvedWindow, cur: WindowAggregates): Promise<WindowAggregates["bins"]> {
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
  const rows = await store.rows<BinRow>(REBIN_SQL(store.table("predictions")), {
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
  return binCounts(rows);
}
