import fs from "node:fs";
import { segmentPath, writeFully, type SegmentFile } from "./spool.ts";

/** A segment whose rows are not all in the store yet; its file is deleted only once they are. */
export interface ClosedSegment {
  path: string;
  bytes: number;
  /** Rows, when this process wrote the whole file without error: its bytes can go to the store as they are. */
  wholeRows: number | undefined;
}

interface OpenSegment {
  path: string;
  fd: number;
  bytes: number;
  rows: number;
}

/**
 * The segment files of one spool directory as its writer tracks them: the open segment appends go
 * to, the closed ones waiting for insert (oldest first, a failed one moved to the back), and the
 * bytes of all of them. A segment holds at most `segmentRows` rows (but for one larger append), so
 * that it can be inserted as it is, in one piece.
 */
export class SpoolSegments {
  private open: OpenSegment | undefined;
  private readonly closed: ClosedSegment[];
  private nextSeq: number;
  private totalBytes: number;

  /**
   * `leftovers` are the segments a previous process left in the directory: pending from the start.
   * `onClosed` is told each time a write closes a segment (full, or torn by a write error).
   */
  constructor(
    private readonly dir: string,
    private readonly segmentRows: number,
    leftovers: readonly SegmentFile[],
    private readonly onClosed: () => void,
  ) {
    this.closed = leftovers.map(({ path, bytes }) => ({ path, bytes, wholeRows: undefined }));
    this.nextSeq = (leftovers.at(-1)?.seq ?? 0) + 1;
    this.totalBytes = leftovers.reduce((sum, s) => sum + s.bytes, 0);
  }

  /** Bytes of all segment files, the open one included. */
  get bytes(): number {
    return this.totalBytes;
  }

  get openRows(): number {
    return this.open?.rows ?? 0;
  }

  get pendingCount(): number {
    return this.closed.length;
  }

  /** Whether a flush would find anything to insert. */
  hasRows(): boolean {
    return (this.open?.bytes ?? 0) > 0 || this.closed.length > 0;
  }

  /**
   * Writes the encoded lines of `rows` rows to the open segment (opening one if need be). On a
   * write error it closes the segment it may have torn and throws the fs error.
   */
  write(data: Buffer, rows: number): void {
    if (this.open && this.open.rows > 0 && this.open.rows + rows > this.segmentRows) this.closeOpen(true, true);
    let seg: OpenSegment;
    try {
      seg = this.open ?? this.openNext();
      writeFully(seg.fd, data);
    } catch (err) {
      this.closeTorn();
      throw err;
    }
    seg.bytes += data.length;
    this.totalBytes += data.length;
    seg.rows += rows;
    if (seg.rows >= this.segmentRows) this.closeOpen(true, true);
  }

  /** Closes the open segment and queues it for insert; the next write opens a new one. */
  rotate(): void {
    this.closeOpen(true, false);
  }

  /** The oldest pending segment not in `tried`. */
  nextPending(tried: ReadonlySet<ClosedSegment>): ClosedSegment | undefined {
    return this.closed.find((s) => !tried.has(s));
  }

  /**
   * Deletes the file of a segment whose rows are in the store and stops tracking it. A failure to
   * delete, other than the file being gone already, is thrown after it stopped being tracked.
   */
  async remove(seg: ClosedSegment): Promise<void> {
    try {
      await fs.promises.unlink(seg.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    } finally {
      this.forget(seg);
    }
  }

  /** Stops tracking a segment whose file is gone. */
  forget(seg: ClosedSegment): void {
    const i = this.closed.indexOf(seg);
    if (i === -1) return;
    this.closed.splice(i, 1);
    this.totalBytes -= seg.bytes;
  }

  /** Moves a segment that failed to the back of the queue, so that it cannot hold up the others. */
  toBack(seg: ClosedSegment): void {
    const i = this.closed.indexOf(seg);
    if (i !== -1) this.closed.push(...this.closed.splice(i, 1));
  }

  private openNext(): OpenSegment {
    const seq = this.nextSeq;
    const p = segmentPath(this.dir, seq);
    const fd = fs.openSync(p, "a");
    this.nextSeq = seq + 1;
    this.open = { path: p, fd, bytes: 0, rows: 0 };
    return this.open;
  }

  /** `whole`: every row was written without error, so the file can go to the store as it is. */
  private closeOpen(whole: boolean, notify: boolean): void {
    const seg = this.open;
    if (!seg) return;
    this.open = undefined;
    try {
      fs.closeSync(seg.fd);
    } catch {
      // Closing only releases the descriptor; the bytes are already written.
    }
    if (seg.bytes === 0) {
      fs.rmSync(seg.path, { force: true });
      return;
    }
    const wholeRows = whole && seg.rows <= this.segmentRows ? seg.rows : undefined;
    this.closed.push({ path: seg.path, bytes: seg.bytes, wholeRows });
    if (notify) this.onClosed();
  }

  /**
   * Part of the lines may be on disk: account for them, and close the segment so that a torn line
   * stays its last one (skipped when read back) rather than being glued to the next write.
   */
  private closeTorn(): void {
    const seg = this.open;
    if (!seg) return;
    try {
      const size = fs.fstatSync(seg.fd).size;
      this.totalBytes += size - seg.bytes;
      seg.bytes = size;
    } catch {
      // Keep the old figure.
    }
    this.closeOpen(false, true);
  }
}
