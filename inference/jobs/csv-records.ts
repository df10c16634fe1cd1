import fs from "node:fs";
import { parseCsv } from "../../models/datasets/csv.ts";

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/**
 * Finds where CSV records end in a byte stream: at a line feed outside double quotes (a quoted
 * field may hold line breaks). Works on bytes, not text: a quote and a line feed are ASCII and never
 * part of a multi-byte UTF-8 sequence, so a chunk may end anywhere, even inside a character.
 */
export class RecordScanner {
  private inQuotes = false;

  /** Calls `onEnd(i)` with the index in `chunk` of each record-ending line feed. */
  scan(chunk: Uint8Array, onEnd: (i: number) => void): void {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === QUOTE) this.inQuotes = !this.inQuotes;
      else if (b === LF && !this.inQuotes) onEnd(i);
    }
  }
}

export interface CsvRecordAt {
  fields: string[];
  /** Byte offset just past the record (and its line break): where reading resumes after it. */
  end: number;
}

/**
 * The records of a CSV file from byte `start`, each with the offset after it, reading 64 KiB at a
 * time. Blank lines are skipped; a last record without a line break is still read.
 */
export async function* csvRecords(file: string, start = 0): AsyncGenerator<CsvRecordAt> {
  const scanner = new RecordScanner();
  let carry: Buffer = Buffer.alloc(0);
  let base = start;
  for await (const chunk of fs.createReadStream(file, { start, highWaterMark: 64 * 1024 })) {
    const buf = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    const ends: number[] = [];
    scanner.scan(chunk as Buffer, (i) => ends.push(i + carry.length));
    let from = 0;
    for (const end of ends) {
      const fields = fieldsOf(buf.subarray(from, end), file);
      from = end + 1;
      if (fields) yield { fields, end: base + from };
    }
    base += from;
    carry = buf.subarray(from);
  }
  const fields = carry.length ? fieldsOf(carry, file) : null;
  if (fields) yield { fields, end: base + carry.length };
}

function fieldsOf(bytes: Buffer, file: string): string[] | null {
  const text = bytes.toString("utf8", 0, bytes.length > 0 && bytes[bytes.length - 1] === CR ? bytes.length - 1 : bytes.length);
  const [record] = parseCsv(text, file);
  return record ? record.fields : null;
}
