import fs from "node:fs";
import { performance } from "node:perf_hooks";
import type { Store } from "../store/client.ts";
import { FlushScheduler } from "./flush-scheduler.ts";
import type { LogWriterMetrics } from "./log-writer-metrics.ts";
import { InsertFailed, insertSegment, type InsertOutcome, type InsertTarget, type RefusedRow } from "./segment-insert.ts";
import { appendRejected, encodeLines, listSegments, lockSpool, rejectedPath, type SegmentFile } from "./spool.ts";
import { SpoolSegments, type ClosedSegment } from "./spool-segments.ts";

/**
 * The asynchronous, bounded, crash-safe writer of log rows (one instance per table: predictions,
 * feedback labels). The request path only calls `append`, which is synchronous and never touches
 * the store; inserts happen later, in the background, in batches.
 *
 * This file composes the parts and keeps the figures (`stats()`, which the metrics in
 * `log-writer-metrics.ts` read): `spool-segments.ts` tracks the segment files (the open one, the
 * closed ones awaiting insert, their bytes); `segment-insert.ts` puts one segment into the store;
 * `flush-scheduler.ts` decides when a flush pass runs; `spool.ts` holds the file formats and the
 * directory's lock.
 *
 * How rows travel. `append` writes the rows as JSON lines to the open segment file of the spool
 * directory (`segment-<seq>.jsonl`). When the open segment holds `flushRows` rows, or every
 * `flushIntervalMs`, the segment is rotated (closed; the next append opens the next one) and
 * inserted into the store; the file is deleted only after its insert succeeded. A segment whose
 * insert failed stays on disk and is retried with backoff (100 ms doubling to 5 s). Segments are
 * tried oldest first; a failed one goes to the back, so one bad segment cannot hold up the others.
 *
 * The spool file is the buffer: rows are not kept in memory. How a segment goes into the store —
 * whole ones as raw bytes, others parsed in chunks — is `segment-insert.ts`.
 *
 * Durability. `append` returns after the rows' bytes were handed to the kernel with write(2)
 * (`fs.writeSync`, looping over short writes); there is no fsync. So a row whose `append` returned
 * "ok" survives the end of this process by any means — an exception, SIGKILL, the OOM killer —
 * because it sits in the kernel's page cache, which the kernel writes to disk on its own; the next
 * `open()` on the same directory replays it. It does NOT survive a power loss, a kernel panic or a
 * host/VM reset before the kernel wrote the page back (on Linux usually within about 30 s,
 * vm.dirty_expire_centisecs), nor the loss of the disk; the same goes for a new segment file's
 * directory entry, which is not fsynced either. Rows answered "dropped" or "refused" were not
 * written anywhere.
 *
 * Rows the store refuses. When an insert fails because of the rows' contents (a parse or type
 * error: retrying the same bytes can never succeed), `segment-insert.ts` isolates the refused rows
 * and inserts the others; each refused row is appended with the store's reason to `rejected.jsonl`
 * in the spool directory and counted (`rejectedRows`).
 *
 * At least once, deduplicated downstream. A crash between an insert and the unlink of its segment,
 * or a retry after part of a segment went in, inserts rows a second time. Both tables are
 * ReplacingMergeTree keyed by request id (predictions: model, hour of ts, request_id, variant;
 * labels: model, request_id) and a replayed row carries the key it was appended with (ts is set
 * before `append`), so the copies collapse: queries with FINAL count a row once at any time, plain
 * queries once the parts merged.
 *
 * Restart. `open()` registers every segment a previous process left (after a crash, or unflushed at
 * close) and replays them in the background, concurrently with new appends, instead of holding up
 * start-up: a full spool (1 GiB by default) takes minutes to insert, and the service should answer
 * meanwhile. New rows go to new segments after the old ones; the old ones count against
 * `maxSpoolBytes` from the start. A last line cut short by the crash is skipped and counted
 * (`skippedLines`); a line cut exactly after its closing brace is still a whole row and kept.
 *
 * Bounds. Disk: the segment files never exceed `maxSpoolBytes`; an append that would is answered
 * per `spoolFullPolicy`: "drop" (not logged, counted) or "refuse" (the caller answers 503). A spool
 * write error (disk full, I/O error) is answered the same way. Memory: no rows are held; an insert
 * in flight holds one segment's bytes (at most `flushRows` rows) or one parsed chunk of at most
 * `flushRows` rows. An outage of the store costs disk, not memory.
 */

export interface LogWriterLogger {
  warn(obj: object, msg: string): void;
  info?(obj: object, msg: string): void;
}

export interface LogWriterOptions {
  store: Store;
  /** Table name without the database, e.g. "predictions". */
  table: string;
  /** The spool directory, one per table, e.g. `<MLWATCH_DATA_DIR>/spool/predictions`. Created if missing. */
  dir: string;
  /** Rows per segment and per insert. Default 10,000. */
  flushRows?: number;
  /** A non-empty open segment is flushed at least this often. Default 1,000 ms. */
  flushIntervalMs?: number;
  /** Upper bound of the spool's size on disk. Default 1 GiB. */
  maxSpoolBytes?: number;
  /** What `append` does when the spool is full. Default "refuse". */
  spoolFullPolicy?: "drop" | "refuse";
  metrics?: LogWriterMetrics;
  logger?: LogWriterLogger;
}

export type AppendResult = "ok" | "dropped" | "refused";

export interface LogWriterStats {
  /** Rows in the open segment: appended, on disk, not yet handed to an insert (at most flushRows but for one larger append). */
  buffered: number;
  /** Closed segments on disk awaiting insert: failed ones and leftovers of a previous process. */
  pendingSegments: number;
  /** Bytes of all segment files, the open one included. */
  spoolBytes: number;
  /** Rows inserted (a segment counts when all its rows are in; a replayed duplicate counts again). */
  flushedRows: number;
  droppedRows: number;
  refusedRows: number;
  /** Failed insert attempts of a segment. */
  failedFlushes: number;
  /** Lines read back from the spool that were not a whole row. */
  skippedLines: number;
  /** Rows the store refused for their contents, set aside in rejected.jsonl. */
  rejectedRows: number;
  /** Duration in milliseconds of the last flush pass that inserted or tried to insert something. */
  lastFlushMs: number;
  /** Whether the last insert attempt succeeded (true until one is made). */
  storeWritable: boolean;
}

/** "read-failed": the segment stays for the next pass, but the store may be fine, so the pass goes on. */
type SegmentFlush = "ok" | "store-failed" | "read-failed";

const DEFAULTS = { flushRows: 10_000, flushIntervalMs: 1_000, maxSpoolBytes: 1024 ** 3, spoolFullPolicy: "refuse" } as const;

export class LogWriter<R extends object> {
  private readonly target: InsertTarget;
  private readonly table: string;
  private readonly dir: string;
  private readonly maxSpoolBytes: number;
  private readonly policy: "drop" | "refuse";
  private readonly logger: LogWriterLogger | undefined;
  private readonly flushDuration: { observe(seconds: number): void } | undefined;
  private readonly releaseLock: () => void;

  private readonly spool: SpoolSegments;
  private readonly scheduler: FlushScheduler;
  /** Set by `close()`: appends are refused from then on. */
  private closing: Promise<void> | undefined;
  /** Whether the last append found the spool full: the warning is logged once, and again when rows fit. */
  private full = false;

  private flushedRows = 0;
  private droppedRows = 0;
  private refusedRows = 0;
  private failedFlushes = 0;
  private skippedLines = 0;
  private rejectedRows = 0;
  private lastFlushMs = 0;
  private storeWritable = true;

  /** Creates the directory, locks it, starts the timer and begins replaying leftover segments. */
  static async open<R extends object>(opts: LogWriterOptions): Promise<LogWriter<R>> {
    const flushRows = opts.flushRows ?? DEFAULTS.flushRows;
    const flushIntervalMs = opts.flushIntervalMs ?? DEFAULTS.flushIntervalMs;
    const maxSpoolBytes = opts.maxSpoolBytes ?? DEFAULTS.maxSpoolBytes;
    if (!Number.isInteger(flushRows) || flushRows < 1) throw new RangeError(`flushRows must be a positive integer, got ${flushRows}`);
    if (!(flushIntervalMs > 0)) throw new RangeError(`flushIntervalMs must be positive, got ${flushIntervalMs}`);
    if (!(maxSpoolBytes > 0)) throw new RangeError(`maxSpoolBytes must be positive, got ${maxSpoolBytes}`);
    await fs.promises.mkdir(opts.dir, { recursive: true });
    const release = lockSpool(opts.dir);
    try {
      const leftovers = listSegments(opts.dir);
      return new LogWriter<R>(opts, { flushRows, flushIntervalMs, maxSpoolBytes }, leftovers, release);
    } catch (err) {
      release();
      throw err;
    }
  }

  private constructor(
    opts: LogWriterOptions,
    limits: { flushRows: number; flushIntervalMs: number; maxSpoolBytes: number },
    leftovers: SegmentFile[],
    releaseLock: () => void,
  ) {
    this.target = { store: opts.store, table: opts.table, chunkRows: limits.flushRows };
    this.table = opts.table;
    this.dir = opts.dir;
    this.maxSpoolBytes = limits.maxSpoolBytes;
    this.policy = opts.spoolFullPolicy ?? DEFAULTS.spoolFullPolicy;
    this.logger = opts.logger;
    this.releaseLock = releaseLock;
    this.flushDuration = opts.metrics?.flushDuration.labels({ table: opts.table });
    this.spool = new SpoolSegments(opts.dir, limits.flushRows, leftovers, () => this.scheduler.soon());
    this.scheduler = new FlushScheduler(limits.flushIntervalMs, () => this.pass(), () => this.spool.hasRows());
    opts.metrics?.track(opts.table, () => this.stats());
    if (leftovers.length > 0) {
      this.logger?.warn({ table: this.table, dir: this.dir, segments: leftovers.length, bytes: this.spool.bytes }, "replaying log spool left by a previous process");
      this.scheduler.soon();
    }
  }

  /**
   * Writes the rows to the spool, synchronously, and returns; never waits for, or fails because
   * of, the store. "dropped"/"refused": the spool is full (or could not be written) and the rows
   * were not logged; "refused" also after `close()`. Rows must be JSON-serialisable (a BigInt or a
   * cycle throws, as JSON.stringify does).
   */
  append(rows: readonly R[]): AppendResult {
    if (rows.length === 0) return "ok";
    if (this.closing) return this.reject(rows.length, "refused");
    const data = encodeLines(rows);
    if (this.spool.bytes + data.length > this.maxSpoolBytes) return this.reject(rows.length, this.onFull());
    try {
      this.spool.write(data, rows.length);
    } catch (err) {
      this.logger?.warn({ table: this.table, dir: this.dir, err: String(err) }, "cannot write the log spool");
      return this.reject(rows.length, this.onFull());
    }
    if (this.full) {
      this.full = false;
      this.logger?.warn({ table: this.table, spoolBytes: this.spool.bytes }, "log spool accepting rows again");
    }
    return "ok";
  }

  /**
   * Rotates the open segment and inserts every closed segment, retrying failed ones now whatever
   * the backoff. Never rejects: the outcome is in `stats()` (storeWritable, pendingSegments).
   * Calls made while a flush runs share the next pass, so the returned promise covers every row
   * appended before the call.
   */
  flush(): Promise<void> {
    return this.scheduler.run();
  }

  stats(): LogWriterStats {
    return {
      buffered: this.spool.openRows,
      pendingSegments: this.spool.pendingCount,
      spoolBytes: this.spool.bytes,
      flushedRows: this.flushedRows,
      droppedRows: this.droppedRows,
      refusedRows: this.refusedRows,
      failedFlushes: this.failedFlushes,
      skippedLines: this.skippedLines,
      rejectedRows: this.rejectedRows,
      lastFlushMs: this.lastFlushMs,
      storeWritable: this.storeWritable,
    };
  }

  /**
   * Stops accepting rows (append answers "refused"), stops the timers and makes one last flush
   * attempt. Segments it could not insert stay on disk for the next `open()` on this directory.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.scheduler.stop();
    await this.scheduler.run();
    this.spool.rotate();
    this.releaseLock();
  }

  private onFull(): "dropped" | "refused" {
    if (!this.full) {
      this.full = true;
      this.logger?.warn({ table: this.table, spoolBytes: this.spool.bytes, maxSpoolBytes: this.maxSpoolBytes, policy: this.policy }, "log spool full");
    }
    return this.policy === "drop" ? "dropped" : "refused";
  }

  private reject(n: number, result: "dropped" | "refused"): AppendResult {
    if (result === "dropped") this.droppedRows += n;
    else this.refusedRows += n;
    return result;
  }

  /** Rotates the open segment and tries every closed one, oldest first; true when all went in. */
  private async pass(): Promise<boolean> {
    this.spool.rotate();
    const started = performance.now();
    const tried = new Set<ClosedSegment>();
    let failed = false;
    try {
      for (;;) {
        const seg = this.spool.nextPending(tried);
        if (!seg) break;
        tried.add(seg);
        const outcome = await this.flushSegment(seg);
        if (outcome === "ok") continue;
        failed = true;
        if (outcome === "store-failed") break;
      }
    } catch (err) {
      // Not expected (flushSegment classifies its errors); never let a pass reject.
      failed = true;
      this.logger?.warn({ table: this.table, err: String(err) }, "log flush failed unexpectedly");
    }
    if (tried.size > 0) {
      this.lastFlushMs = performance.now() - started;
      this.flushDuration?.observe(this.lastFlushMs / 1000);
    }
    return !failed;
  }

  /** Inserts one segment and deletes its file, or leaves it for a retry. */
  private async flushSegment(seg: ClosedSegment): Promise<SegmentFlush> {
    let outcome: InsertOutcome;
    try {
      outcome = await insertSegment(this.target, seg, (refused) => this.setAside(refused));
    } catch (err) {
      return this.afterFailedInsert(seg, err);
    }
    await this.removeInserted(seg);
    this.afterInsert(seg, outcome);
    return "ok";
  }

  private afterFailedInsert(seg: ClosedSegment, err: unknown): SegmentFlush {
    this.spool.toBack(seg);
    if (err instanceof InsertFailed) {
      this.failedFlushes++;
      if (this.storeWritable) {
        this.logger?.warn({ table: this.table, err: err.message }, "log store not writable; rows stay in the spool and are retried");
      }
      this.storeWritable = false;
      return "store-failed";
    }
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      // Removed by someone else: nothing left to insert.
      this.spool.forget(seg);
      this.logger?.warn({ table: this.table, segment: seg.path }, "log spool segment vanished before it was inserted");
      return "ok";
    }
    this.logger?.warn({ table: this.table, segment: seg.path, err: String(err) }, "cannot read log spool segment; will retry");
    return "read-failed";
  }

  private async removeInserted(seg: ClosedSegment): Promise<void> {
    try {
      await this.spool.remove(seg);
    } catch (err) {
      // Its rows are in the store; if the file outlives us, a restart inserts them again (deduplicated).
      this.logger?.warn({ table: this.table, segment: seg.path, err: String(err) }, "cannot delete flushed log spool segment");
    }
  }

  private afterInsert(seg: ClosedSegment, { inserted, skipped }: InsertOutcome): void {
    this.flushedRows += inserted;
    if (skipped > 0) {
      this.skippedLines += skipped;
      this.logger?.warn({ table: this.table, segment: seg.path, skipped }, "skipped incomplete lines in log spool segment");
    }
    if (!this.storeWritable) this.logger?.info?.({ table: this.table }, "log store writable again");
    this.storeWritable = true;
  }

  private setAside(refused: RefusedRow[]): void {
    appendRejected(this.dir, refused);
    this.rejectedRows += refused.length;
    this.logger?.warn({ table: this.table, rows: refused.length, reason: refused[0]!.reason, file: rejectedPath(this.dir) }, "the store refused log rows; set aside");
  }
}
