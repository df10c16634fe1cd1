import type { Store } from "../store/client.ts";
import { iso } from "../format.ts";
import { BUCKET_SQL, bucketStarts, windowCondition, windowParams, type ResolvedWindow } from "./window.ts";

export interface SharesBucket {
  startUs: number;
  start: string;
  rows: number;
  /** Each version's share of the bucket's rows of `variant`, 0–1; empty without rows. */
  shares: { version: string; rows: number; share: number }[];
}

const SHARES_SQL = (table: string) => `
  SELECT ${BUCKET_SQL} AS bucket, version, count() AS rows
  FROM ${table} FINAL
  WHERE model = {model:String} AND variant = {variant:String} AND ${windowCondition()}
  GROUP BY bucket, version
  ORDER BY bucket, version`;

/** How one variant's rows (a bandit's, say) were shared among versions, per time bucket: the allocation as it was served. */
export async function servedShares(store: Store, model: string, variant: string, window: ResolvedWindow, bucketSeconds: number): Promise<SharesBucket[]> {
  const rows = await store.rows<{ bucket: number; version: string; rows: number }>(SHARES_SQL(store.table("predictions")), {
    model,
    variant,
    bucketUs: bucketSeconds * 1e6,
    ...windowParams(window),
  });
  return bucketStarts(window, bucketSeconds).map((startUs) => {
    const inBucket = rows.filter((r) => Number(r.bucket) === startUs);
    const total = inBucket.reduce((a, r) => a + Number(r.rows), 0);
    return { startUs, start: iso(startUs), rows: total, shares: inBucket.map((r) => ({ version: r.version, rows: Number(r.rows), share: Number(r.rows) / total })) };
  });
}
