import type { Store } from "../store/client.ts";
import { psi, psiLevel, type PsiLevel } from "../stats/index.ts";
import { baselineHistogram, histogramFromBins, psiBins } from "./bins.ts";
import { featureRefs } from "./schema-index.ts";
import { chooseVersion, requireBaseline, versionInfo, type VersionChoice } from "./version.ts";
import { BUCKET_SQL, bucketSecondsFor, bucketStarts, resolveWindow, windowCondition, windowParams, type ResolvedWindow, type Window } from "./window.ts";

export interface DriftOverTimeQuery {
  model: string;
  /** Default: the version that served most primary traffic in the window. */
  version?: string;
  window?: Window;
  bucketSeconds?: number;
  /** A bucket with fewer rows of the version gets no figure (default MIN_BUCKET_ROWS). */
  minRows?: number;
}

export interface FeatureDriftOverTime {
  feature: string;
  type: "numeric" | "categorical";
  /** Per bucket, in `buckets` order: PSI against the version's training baseline; null below minRows. */
  psi: (number | null)[];
  level: (PsiLevel | null)[];
}

export interface DriftOverTime {
  model: string;
  version: string;
  versionChosenBy: VersionChoice["chosenBy"];
  window: ResolvedWindow;
  bucketSeconds: number;
  minRows: number;
  /** Bucket starts (µs, aligned to multiples of the width since the epoch) and the version's rows in each. */
  buckets: { startUs: number; rows: number }[];
  /** In the schema's order, so a feature keeps its row from one read to the next. */
  features: FeatureDriftOverTime[];
}

/**
 * Below this many rows a bucket's PSI is mostly sampling noise: over ~11 bins its expected value
 * without any shift is about 10 / rows, so 100 rows already read as 0.1, the edge of "moderate".
 */
export const MIN_BUCKET_ROWS = 100;

/** detect_data_drift's bins query with the bucket as one more key: (bucket, position, bin) → rows. */
const BUCKET_BINS_SQL = (table: string, keyType: "UInt16" | "UInt32") => `
  SELECT bucket, intDiv(key, 256) AS pos, key % 256 AS bin, count() AS n
  FROM (
    SELECT ${BUCKET_SQL} AS bucket, feature_bin FROM ${table} FINAL
    WHERE model = {model:String} AND version = {version:String} AND ${windowCondition()}
      AND length(feature_bin) = {features:UInt32}
  )
  ARRAY JOIN arrayMap((b, i) -> to${keyType}(i * 256 + b), feature_bin, arrayEnumerate(feature_bin)) AS key
  GROUP BY bucket, key`;

/**
 * Each feature's PSI per time bucket against the version's training baseline: the ranking score of
 * detect_data_drift (the same bins and the same PSI), read once per bucket in one query, for a heat
 * map of which input moved when. Rows binned under another layout are left out, as there.
 */
export async function driftOverTime(store: Store, query: DriftOverTimeQuery): Promise<DriftOverTime> {
  const window = resolveWindow(query.window);
  const bucketSeconds = bucketSecondsFor(window, query.bucketSeconds);
  const minRows = query.minRows ?? MIN_BUCKET_ROWS;
  const choice = await chooseVersion(store, query.model, window, query.version, { exactTraffic: false });
  const info = await versionInfo(store, query.model, choice.version);
  const schema = info.meta.schema;
  const baseline = requireBaseline(info);
  const features = schema.features.length;
  const rows = await store.rows<{ bucket: number; pos: number; bin: number; n: number }>(BUCKET_BINS_SQL(store.table("predictions"), features < 256 ? "UInt16" : "UInt32"), {
    model: query.model,
    version: choice.version,
    features,
    bucketUs: bucketSeconds * 1e6,
    ...windowParams(window),
  });
  const starts = bucketStarts(window, bucketSeconds);
  const bins = binsByBucket(rows);
  // Every row has one bin per feature, so the first feature's counts are the bucket's rows.
  const rowsIn = starts.map((s) => [...(bins.get(s)?.get(1)?.values() ?? [])].reduce((a, b) => a + b, 0));
  return {
    model: query.model,
    version: choice.version,
    versionChosenBy: choice.chosenBy,
    window,
    bucketSeconds,
    minRows,
    buckets: starts.map((startUs, i) => ({ startUs, rows: rowsIn[i]! })),
    features: featureRefs(schema).map((f) => {
      const fb = baseline.features[f.index]!;
      const reference = psiBins(fb, baselineHistogram(fb));
      const scores = starts.map((s, i) => (rowsIn[i]! === 0 || rowsIn[i]! < minRows ? null : psi(reference, psiBins(fb, histogramFromBins(fb, bins.get(s)?.get(f.binPos))))));
      return { feature: f.name, type: f.type, psi: scores, level: scores.map((x) => (x === null ? null : psiLevel(x))) };
    }),
  };
}

/** bucket start → 1-based feature position → bin → rows. */
function binsByBucket(rows: { bucket: number; pos: number; bin: number; n: number }[]): Map<number, Map<number, Map<number, number>>> {
  const out = new Map<number, Map<number, Map<number, number>>>();
  for (const r of rows) {
    const bucket = Number(r.bucket);
    let byPos = out.get(bucket);
    if (!byPos) out.set(bucket, (byPos = new Map()));
    let byBin = byPos.get(Number(r.pos));
    if (!byBin) byPos.set(Number(r.pos), (byBin = new Map()));
    byBin.set(Number(r.bin), Number(r.n));
  }
  return out;
}
