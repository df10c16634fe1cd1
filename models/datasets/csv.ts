import fs from "node:fs";
import type { Dataset, Example, FeatureSpec, ModelSchema, Row } from "../schema.ts";

export class CsvError extends Error {}

/** One parsed record and the line it starts on, for error messages that point into the file. */
export interface CsvRecord {
  line: number;
  fields: string[];
}

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** Plain decimal notation only (no hex, no "Infinity"), and within float range. */
function isNumber(cell: string): boolean {
  return DECIMAL.test(cell) && Number.isFinite(Number(cell));
}

/**
 * Reads a headed CSV file into a Dataset predicting `labelColumn` from every other column.
 * A column is numeric when all its non-empty cells are decimal numbers, categorical otherwise;
 * cells are trimmed and an empty cell is missing (null). Categories and classes are sorted so
 * the same file always gives the same schema.
 */
export function loadCsv(file: string, labelColumn: string): Dataset {
  const [header, ...records] = parseCsv(fs.readFileSync(file, "utf8"), file);
  if (!header) throw new CsvError(`${file}: the file is empty`);
  const names = header.fields.map((f) => f.trim());
  checkHeader(names, labelColumn, file);
  for (const r of records) {
    if (r.fields.length !== names.length) {
      throw new CsvError(`${file} line ${r.line}: ${r.fields.length} fields, expected ${names.length} as in the header`);
    }
  }
  const cells = records.map((r) => r.fields.map((f) => f.trim()));
  const labelIndex = names.indexOf(labelColumn);
  records.forEach((r, k) => {
    if (cells[k]![labelIndex] === "") throw new CsvError(`${file} line ${r.line}: empty label in column '${labelColumn}'`);
  });
  const schema = inferSchema(names, cells, labelIndex, labelColumn, file);
  const columns = schema.features.map((f) => names.indexOf(f.name));
  return { name: `csv(${file})`, schema, examples: cells.map((row) => toExample(row, columns, labelIndex, schema)) };
}

function checkHeader(names: string[], labelColumn: string, file: string): void {
  const empty = names.indexOf("");
  if (empty >= 0) throw new CsvError(`${file} line 1: column ${empty + 1} has no name`);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) throw new CsvError(`${file} line 1: column '${duplicate}' appears twice`);
  if (!names.includes(labelColumn)) {
    throw new CsvError(`${file}: no label column '${labelColumn}' (columns: ${names.join(", ")})`);
  }
  if (names.length < 2) throw new CsvError(`${file}: only the label column '${labelColumn}', no features`);
}

function inferSchema(names: string[], cells: string[][], labelIndex: number, label: string, file: string): ModelSchema {
  const column = (j: number) => cells.map((row) => row[j]!).filter((v) => v !== "");
  const features: FeatureSpec[] = [];
  names.forEach((name, j) => {
    if (j === labelIndex) return;
    const values = column(j);
    features.push(values.every(isNumber) ? { name, type: "numeric" } : { name, type: "categorical", categories: distinctSorted(values) });
  });
  const classes = distinctSorted(column(labelIndex));
  if (classes.length < 2) {
    throw new CsvError(`${file}: label column '${label}' has ${classes.length} distinct value(s) (${classes.join(", ")}); need at least 2 classes`);
  }
  return { features, classes, label };
}

/** Numbers in numeric order when every value is one (so "10" follows "9"), otherwise code-unit order. */
function distinctSorted(values: string[]): string[] {
  const distinct = [...new Set(values)];
  if (distinct.every(isNumber)) return distinct.sort((a, b) => Number(a) - Number(b));
  return distinct.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** columns[k]: the CSV column of schema feature k. */
function toExample(row: string[], columns: number[], labelIndex: number, schema: ModelSchema): Example {
  const values: Row = {};
  schema.features.forEach((f, k) => {
    const cell = row[columns[k]!]!;
    values[f.name] = cell === "" ? null : f.type === "numeric" ? Number(cell) : cell;
  });
  return { row: values, label: schema.classes.indexOf(row[labelIndex]!) };
}

/**
 * RFC 4180 records: fields separated by commas, optionally wrapped in double quotes (which may
 * hold commas, line breaks and "" for a quote); records end at LF, CRLF or CR. Blank lines are
 * skipped, and a leading byte-order mark is ignored.
 */
export function parseCsv(text: string, file: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let line = 1;
  let recordLine = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i <= text.length) {
    const field = text[i] === '"' ? readQuoted(text, i, file, line) : readPlain(text, i);
    fields.push(field.value);
    line += field.newlines;
    i = field.end;
    const ch = text[i];
    if (ch === ",") {
      i++;
      continue;
    }
    // End of record (a line break or the end of the text).
    if (!(fields.length === 1 && fields[0] === "" && !field.quoted)) records.push({ line: recordLine, fields });
    fields = [];
    i += ch === "\r" && text[i + 1] === "\n" ? 2 : 1;
    line++;
    recordLine = line;
  }
  return records;
}

interface Field {
  value: string;
  /** Index of the character after the field: a comma, a line break or text.length. */
  end: number;
  newlines: number;
  quoted: boolean;
}

function readPlain(text: string, start: number): Field {
  let end = start;
  while (end < text.length) {
    const c = text.charCodeAt(end);
    if (c === 44 || c === 10 || c === 13) break; // , \n \r
    end++;
  }
  return { value: text.slice(start, end), end, newlines: 0, quoted: false };
}

function readQuoted(text: string, start: number, file: string, line: number): Field {
  const parts: string[] = [];
  let i = start + 1;
  for (;;) {
    const quote = text.indexOf('"', i);
    if (quote < 0) throw new CsvError(`${file} line ${line}: quoted field never closed`);
    parts.push(text.slice(i, quote));
    if (text[quote + 1] === '"') {
      parts.push('"');
      i = quote + 2;
      continue;
    }
    // Text after the closing quote up to the delimiter is kept, as most spreadsheet tools do.
    const rest = readPlain(text, quote + 1);
    const value = parts.join("") + rest.value;
    return { value, end: rest.end, newlines: countNewlines(value), quoted: true };
  }
}

/** Line breaks inside a quoted field, counting CRLF once, so later line numbers stay right. */
function countNewlines(value: string): number {
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 10 || (c === 13 && value.charCodeAt(i + 1) !== 10)) n++;
  }
  return n;
}
