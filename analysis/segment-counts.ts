import type { Store } from "../store/client.ts";
import { windowCondition, windowParams, type ResolvedWindow } from "./window.ts";

/** Counts of one (side, feature, bin) cell. */
export interface BinTally {
  /** Answered (non-error) served rows. */
  answered: number;
  predictedPositive: number;
  labelled: number;
  /** Labelled rows whose prediction was wrong. */
  wrong: number;
  labelledPositive: number;
}

export type Side = "current" | "reference";

export interface SegmentCountQuery {
  model: string;
  version: string;
  /** Features in the version's schema: rows logged with another layout are left out. */
  features: number;
  current: ResolvedWindow;
  reference?: ResolvedWindow;
  /** 1-based position in feature_bin of the one feature to count; default every feature. */
  binPos?: number;
  /** Class counted by predictedPositive / labelledPositive ('' counts none). */
  positive?: string;
  /** Only labelled rows (the error-rate question): unlabelled rows are dropped before unrolling the bins. */
  labelledOnly: boolean;
  /** Leaves out rows whose bin at feature position binPos (1-based) is one of `bins`: "everything outside this segment". */
  exclude?: { binPos: number; bins: number[] };
}

/*
 * One pass over the served rows of one version in both windows, labels joined as accuracy.ts does
 * (64-bit hash of the request id, FINAL on both sides, the latest label wins), then feature_bin
 * unrolled: counts per side, feature position and bin. Bins, not raw values, so segments work
 * under MLWATCH_LOG_FEATURES=hash. Rows in both windows count as current.
 */
const SEGMENT_COUNTS_SQL = (predictions: string, labels: string, q: SegmentCountQuery) => `
  SELECT side, pos, bin,
         count() AS answered,
         countIf(predicted = {positive:String}) AS predicted_positive,
         countIf(label != '') AS labelled,
         countIf(label != '' AND label != predicted) AS wrong,
         countIf(label != '' AND label = {positive:String}) AS labelled_positive
  FROM (
    SELECT p.side AS side, p.bins AS bins, p.predicted AS predicted, l.label AS label
    FROM (
      SELECT ${windowCondition("", "cur")} AS side, feature_bin AS bins, predicted, cityHash64(request_id) AS h
      FROM ${predictions} FINAL
      WHERE model = {model:String} AND version = {version:String} AND variant != 'shadow' AND error = ''
        AND length(feature_bin) = {features:UInt32}
        AND (${windowCondition("", "cur")}${q.reference ? ` OR ${windowCondition("", "ref")}` : ""})
        ${q.exclude ? "AND NOT has({excludeBins:Array(UInt8)}, feature_bin[{excludePos:UInt32}])" : ""}
    ) AS p
    LEFT JOIN (SELECT cityHash64(request_id) AS h, label FROM ${labels} FINAL WHERE model = {model:String}) AS l ON p.h = l.h
    ${q.labelledOnly ? "WHERE l.label != ''" : ""}
  )
  ARRAY JOIN ${q.binPos === undefined ? "bins AS bin, arrayEnumerate(bins) AS pos" : "[bins[{binPos:UInt32}]] AS bin, [toUInt32({binPos:UInt32})] AS pos"}
  GROUP BY side, pos, bin
  SETTINGS join_algorithm = 'hash'`;

interface CountRow {
  side: number;
  pos: number;
  bin: number;
  answered: number;
  predicted_positive: number;
  labelled: number;
  wrong: number;
  labelled_positive: number;
}

/** Tallies keyed by side, then 0-based feature index, then bin. */
export type SegmentCounts = Record<Side, Map<number, Map<number, BinTally>>>;

export async function segmentCounts(store: Store, q: SegmentCountQuery): Promise<SegmentCounts> {
  const params = {
    model: q.model,
    version: q.version,
    features: q.features,
    positive: q.positive ?? "",
    binPos: q.binPos ?? 0,
    excludePos: q.exclude?.binPos ?? 0,
    excludeBins: q.exclude?.bins ?? [],
    ...windowParams(q.current, "cur"),
    ...(q.reference ? windowParams(q.reference, "ref") : {}),
  };
  const rows = await store.rows<CountRow>(SEGMENT_COUNTS_SQL(store.table("predictions"), store.table("labels"), q), params);
  const out: SegmentCounts = { current: new Map(), reference: new Map() };
  for (const r of rows) {
    const byFeature = out[Number(r.side) === 1 ? "current" : "reference"];
    let byBin = byFeature.get(Number(r.pos) - 1);
    if (!byBin) byFeature.set(Number(r.pos) - 1, (byBin = new Map()));
    byBin.set(Number(r.bin), {
      answered: Number(r.answered),
      predictedPositive: Number(r.predicted_positive),
      labelled: Number(r.labelled),
      wrong: Number(r.wrong),
      labelledPositive: Number(r.labelled_positive),
    });
  }
  return out;
}

export const emptyTally = (): BinTally => ({ answered: 0, predictedPositive: 0, labelled: 0, wrong: 0, labelledPositive: 0 });

export function addTally(into: BinTally, t: BinTally): void {
  into.answered += t.answered;
  into.predictedPositive += t.predictedPositive;
  into.labelled += t.labelled;
  into.wrong += t.wrong;
  into.labelledPositive += t.labelledPositive;
}

/** One feature's bin tallies summed per segment (segmentOf from segment-defs.ts); bins outside the baseline are left out. */
export function tallyBySegment(bins: ReadonlyMap<number, BinTally> | undefined, segments: number, segmentOf: (bin: number) => number): { tallies: BinTally[]; outOfRange: number } {
  const tallies = Array.from({ length: segments }, emptyTally);
  let outOfRange = 0;
  for (const [bin, t] of bins ?? []) {
    const s = segmentOf(bin);
    if (s < 0) outOfRange += t.answered;
    else addTally(tallies[s]!, t);
  }
  return { tallies, outOfRange };
}

/** The whole side's totals: every row carries one bin per feature, so one feature's bins sum to all rows. */
export function sideTotal(byFeature: ReadonlyMap<number, ReadonlyMap<number, BinTally>>): BinTally {
  const total = emptyTally();
  for (const t of byFeature.get(0)?.values() ?? []) addTally(total, t);
  return total;
}
