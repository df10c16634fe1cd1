import fs from "node:fs";
import type { Store } from "../store/client.ts";
import { isRejectedData } from "../store/insert-errors.ts";
import { readSegment } from "./spool.ts";

/**
 * Inserting one closed spool segment into the store.
 *
 * A segment its process wrote whole (at most `chunkRows` rows, no write error) is already valid
 * JSONEachRow, so its bytes are handed to the store as they are (`INSERT … FORMAT JSONEachRow`;
 * embedded: chDB's raw insert, server: @clickhouse/client) — measured about twice as fast as
 * encoding row objects again. Any other segment (left by a previous process, cut by a write error,
 * or larger than `chunkRows` because of one big append) is read back line by line, incomplete lines
 * skipped and counted, and inserted with `store.insert` in chunks of at most `chunkRows` rows.
 *
 * Rows the store refuses. When an insert fails because of the rows' contents (a parse or type
 * error: retrying the same bytes can never succeed), the segment is split in halves, recursively,
 * until each refused row stands alone; the others go in, and the refused ones are handed back with
 * the store's reason. One bad row costs about 2·log2(chunkRows) extra inserts, and never holds up
 * the rows beside it.
 */

export interface InsertTarget {
  store: Store;
  /** Table name without the database, e.g. "predictions". */
  table: string;
  /** Rows per insert of a segment that is read back. */
  chunkRows: number;
}

interface SegmentToInsert {
  path: string;
  /** Rows, when the file is known to be whole JSONEachRow: its bytes can go to the store as they are. */
  wholeRows: number | undefined;
}

export interface RefusedRow {
  row: object;
  /** The first line of the store's error. */
  reason: string;
}

export interface InsertOutcome {
  /** Rows that went in (a replayed duplicate counts again). */
  inserted: number;
  /** Lines read back that were not a whole row. */
  skipped: number;
}

/** An insert that the store rejected, as opposed to a segment that could not be read. */
export class InsertFailed extends Error {
  constructor(readonly storeError: unknown) {
    super(storeError instanceof Error ? storeError.message : String(storeError));
  }
}

/**
 * Inserts every row of the segment. Rows the store refuses for their contents go to `setAside`,
 * one chunk's worth at a time, and the others in. Throws InsertFailed when the store failed
 * otherwise (some rows may be in: the tables deduplicate a retry), the fs error when the segment
 * could not be read.
 */
export async function insertSegment(to: InsertTarget, seg: SegmentToInsert, setAside: (refused: RefusedRow[]) => void): Promise<InsertOutcome> {
  try {
    if (seg.wholeRows !== undefined) {
      const body = await fs.promises.readFile(seg.path); // a missing file is a read error, not the store's
      await byStore(() => to.store.insertJsonLines(to.table, body));
      return { inserted: seg.wholeRows, skipped: 0 };
    }
    const read = await readSegment(seg.path, to.chunkRows, (chunk) => byStore(() => to.store.insert(to.table, chunk)));
    return { inserted: read.rows, skipped: read.skipped };
  } catch (err) {
    if (!(err instanceof InsertFailed && isRejectedData(err.storeError))) throw err;
    return insertSettingAside(to, seg.path, setAside);
  }
}

/** Reads the segment again and inserts it chunk by chunk, bisecting each chunk the store refuses. */
async function insertSettingAside(to: InsertTarget, file: string, setAside: (refused: RefusedRow[]) => void): Promise<InsertOutcome> {
  let inserted = 0;
  const read = await readSegment(file, to.chunkRows, async (chunk) => {
    const refused = await insertBisecting(to, chunk);
    inserted += chunk.length - refused.length;
    if (refused.length > 0) setAside(refused);
  });
  return { inserted, skipped: read.skipped };
}

/**
 * Inserts the rows the store accepts and returns those it refuses, halving a refused batch until
 * each refused row stands alone; a refused insert stores nothing, so no row goes in twice.
 */
async function insertBisecting(to: InsertTarget, rows: readonly object[]): Promise<RefusedRow[]> {
  try {
    await to.store.insert(to.table, rows);
    return [];
  } catch (err) {
    if (!isRejectedData(err)) throw new InsertFailed(err);
    if (rows.length === 1) return [{ row: rows[0]!, reason: (err instanceof Error ? err.message : String(err)).split("\n")[0]! }];
    const mid = rows.length >> 1;
    return [...(await insertBisecting(to, rows.slice(0, mid))), ...(await insertBisecting(to, rows.slice(mid)))];
  }
}

/** Marks a failure of the store as such, so that the caller can tell it from a read error. */
async function byStore(insert: () => Promise<void>): Promise<void> {
  try {
    await insert();
  } catch (err) {
    throw new InsertFailed(err);
  }
}
