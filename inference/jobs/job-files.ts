import fs from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";
import type { ModelSchema, Row } from "../../models/schema.ts";
import { csvRecords, RecordScanner } from "./csv-records.ts";

/** A job refused or not found, as the routes answer it: status, the field at fault and why. */
export class JobError extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 413 | 415,
    readonly code: string,
    readonly field: string | undefined,
    reason: string,
  ) {
    super(reason);
  }
}

/** Where a job's files live: `<MLWATCH_DATA_DIR>/jobs/<id>/{input,output}.csv`. */
export function jobPaths(dataDir: string, jobId: string) {
  const dir = path.join(dataDir, "jobs", jobId);
  return { dir, input: path.join(dir, "input.csv"), output: path.join(dir, "output.csv") };
}

/** Writes the upload to `file`, counting its records, and stops at maxBytes with a 413. */
export async function receiveUpload(body: Readable, file: string, maxBytes: number): Promise<{ bytes: number; records: number }> {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, "w");
  const scanner = new RecordScanner();
  let bytes = 0;
  let records = 0;
  let lastByte = 0x0a;
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      bytes += buf.length;
      if (bytes > maxBytes) throw new JobError(413, "body_too_large", "body", `the file is larger than MLWATCH_JOB_MAX_BYTES (${maxBytes} bytes)`);
      scanner.scan(buf, () => records++);
      if (buf.length) lastByte = buf[buf.length - 1]!;
      fs.writeSync(fd, buf);
    }
  } finally {
    fs.closeSync(fd);
  }
  // A last record without a line break still counts.
  return { bytes, records: records + (lastByte === 0x0a ? 0 : 1) };
}

/** How the file's columns feed the schema: each feature's column, and the columns no feature reads. */
export interface ColumnPlan {
  columns: { name: string; type: "numeric" | "categorical"; index: number }[];
  ignored: string[];
}

/** Reads the header and matches it to the schema; a feature without a column is refused, naming it. */
export async function planColumns(file: string, schema: ModelSchema): Promise<ColumnPlan> {
  let header: string[] | undefined;
  for await (const record of csvRecords(file)) {
    header = record.fields.map((f) => f.trim());
    break;
  }
  if (!header) throw new JobError(400, "invalid_file", "file", "the file is empty; expected a header line naming the model's features");
  const duplicate = header.find((n, i) => header.indexOf(n) !== i);
  if (duplicate !== undefined) throw new JobError(400, "invalid_file", `header.${duplicate}`, `column '${duplicate}' appears twice`);
  const missing = schema.features.filter((f) => !header.includes(f.name));
  if (missing.length > 0) {
    const list = missing.map((f) => `'${f.name}' (${f.type})`).join(", ");
    throw new JobError(400, "missing_feature", `header.${missing[0]!.name}`, `no column for feature ${list}; the model reads ${schema.features.map((f) => f.name).join(", ")}`);
  }
  const used = new Set(schema.features.map((f) => f.name));
  return {
    columns: schema.features.map((f) => ({ name: f.name, type: f.type, index: header.indexOf(f.name) })),
    ignored: header.filter((n) => !used.has(n)),
  };
}

/**
 * One record as the predictor takes a row: an empty cell is a missing value (null), a numeric
 * feature's cell a number when it reads as one; anything else stays text, for validation to name.
 */
export function rowOf(fields: string[], plan: ColumnPlan): Row {
  const row: Row = {};
  for (const c of plan.columns) {
    const cell = (fields[c.index] ?? "").trim();
    const n = Number(cell);
    row[c.name] = cell === "" ? null : c.type === "numeric" && Number.isFinite(n) ? n : cell;
  }
  return row;
}
