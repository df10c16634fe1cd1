import fs from "node:fs";
import path from "node:path";
import { StringDecoder } from "node:string_decoder";
import type { RefusedRow } from "./segment-insert.ts";

/**
 * The on-disk half of the log writer: segment files of JSON lines in one directory per table,
 * `segment-<12-digit seq>.jsonl`, the rows the store refused (`rejected.jsonl`), and a lock file
 * naming the process that owns the directory. Only the log writer's modules use this one.
 */

const SEGMENT = /^segment-(\d{12})\.jsonl$/;
const LOCK_FILE = "writer.lock";
const READ_BLOCK = 1 << 20;

export interface SegmentFile {
  seq: number;
  path: string;
  bytes: number;
}

export function segmentPath(dir: string, seq: number): string {
  return path.join(dir, `segment-${String(seq).padStart(12, "0")}.jsonl`);
}

/** Rows the store refused, with its reason: kept for a person to look at, never replayed. */
export function rejectedPath(dir: string): string {
  return path.join(dir, "rejected.jsonl");
}

/** Appends rows the store refused, each with the store's reason and the time, to rejected.jsonl. */
export function appendRejected(dir: string, refused: readonly RefusedRow[]): void {
  const at = new Date().toISOString();
  fs.appendFileSync(rejectedPath(dir), encodeLines(refused.map((r) => ({ rejected_at: at, reason: r.reason, row: r.row }))));
}

/** Segment files in `dir`, oldest first. Other files (the lock, strays) are ignored. */
export function listSegments(dir: string): SegmentFile[] {
  const found: SegmentFile[] = [];
  for (const name of fs.readdirSync(dir)) {
    const m = SEGMENT.exec(name);
    if (!m) continue;
    const p = path.join(dir, name);
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (st?.isFile()) found.push({ seq: Number(m[1]), path: p, bytes: st.size });
  }
  return found.sort((a, b) => a.seq - b.seq);
}

/** One JSON line per row, as one buffer, so that one append is one write(2). */
export function encodeLines(rows: readonly object[]): Buffer {
  let text = "";
  for (const row of rows) text += JSON.stringify(row) + "\n";
  return Buffer.from(text, "utf8");
}

/** fs.writeSync may write less than asked; loop until all of it is in the kernel's hands. */
export function writeFully(fd: number, data: Buffer): void {
  let offset = 0;
  while (offset < data.length) offset += fs.writeSync(fd, data, offset, data.length - offset);
}

export interface ReadOutcome {
  /** Rows handed to `onChunk`. */
  rows: number;
  /** Lines that were not a JSON object: a truncated last line (killed mid-write) or damage. */
  skipped: number;
}

/**
 * Streams a segment back in chunks of at most `chunkRows` rows, so memory stays bounded whatever
 * the file's size. A last line without its newline is kept if it parses (the cut fell exactly
 * after the closing brace: no strict prefix of a JSON object parses) and skipped otherwise.
 * Errors thrown by `onChunk` propagate unchanged; read errors propagate as the fs error.
 */
export async function readSegment(
  file: string,
  chunkRows: number,
  onChunk: (rows: object[]) => Promise<void>,
): Promise<ReadOutcome> {
  const handle = await fs.promises.open(file, "r");
  const decoder = new StringDecoder("utf8");
  const block = Buffer.allocUnsafe(READ_BLOCK);
  const outcome: ReadOutcome = { rows: 0, skipped: 0 };
  let chunk: object[] = [];
  let carry = "";
  const emit = async () => {
    const full = chunk;
    chunk = [];
    await onChunk(full);
    outcome.rows += full.length;
  };
  const take = (line: string) => {
    if (line.length === 0) return;
    const row = parseRow(line);
    if (row === undefined) outcome.skipped++;
    else chunk.push(row);
  };
  try {
    for (;;) {
      const { bytesRead } = await handle.read(block, 0, READ_BLOCK, null);
      if (bytesRead === 0) break;
      const text = carry + decoder.write(block.subarray(0, bytesRead));
      let start = 0;
      for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
        take(text.slice(start, nl));
        start = nl + 1;
        if (chunk.length >= chunkRows) await emit();
      }
      carry = text.slice(start);
    }
    take(carry + decoder.end());
    if (chunk.length > 0) await emit();
  } finally {
    await handle.close();
  }
  return outcome;
}

function parseRow(line: string): object | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Spool directories this process holds, by real path: the pid in the lock file cannot tell them apart. */
const heldHere = new Set<string>();

/**
 * Takes the directory for this writer: two writers appending to and replaying one spool would
 * insert and delete each other's segments. A lock left by a dead process (crash) is taken over.
 * The lock is advisory and pid-based: it cannot see a live process in another pid namespace
 * (another container sharing the volume). Returns the release function.
 */
export function lockSpool(dir: string): () => void {
  const real = fs.realpathSync(dir);
  if (heldHere.has(real)) throw new Error(`spool directory ${dir} is already open in this process`);
  const file = path.join(real, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
      heldHere.add(real);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        heldHere.delete(real);
        fs.rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number.parseInt(fs.readFileSync(file, "utf8"), 10);
      // Our own pid here means a previous incarnation (containers restart as the same pid).
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new Error(`spool directory ${dir} is in use by process ${owner} (${file})`);
      }
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`could not lock spool directory ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
