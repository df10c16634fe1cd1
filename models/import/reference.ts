import fs from "node:fs";
import { computeBaseline, type FeatureBaseline, type ModelBaseline } from "../baseline.ts";
import { CsvError, parseCsv } from "../datasets/csv.ts";
import { argmax, evaluate, type ClassMetrics } from "../evaluate.ts";
import type { ModelSchema, Row } from "../schema.ts";
import { ImportError } from "./errors.ts";

/** The data an imported model is judged against: its rows in schema terms, and class indices with --label. */
export interface ReferenceData {
  rows: Row[];
  labels: Int32Array | null;
}

// A type alias rather than an interface: the registry takes metrics as Record<string, unknown>.
export type ReferenceMetrics = {
  accuracy: number;
  logLoss: number;
  perClass: ClassMetrics[];
  /** Reference rows the accuracy was measured on (the model's held-out figure for an imported version). */
  testRows: number;
};

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Reads the reference CSV against the completed schema: every schema feature must be a column,
 * numeric cells must be decimal numbers, and label cells classes of the model. Extra columns are
 * ignored; an empty cell is a missing value. Errors name the line and the column.
 */
export function readReference(file: string, schema: ModelSchema, labelColumn: string | undefined): ReferenceData {
  const [header, ...records] = readRecords(file);
  if (!header) throw new ImportError(`${file}: the file is empty`);
  const names = header.fields.map((f) => f.trim());
  const columns = schema.features.map((f) => {
    const j = names.indexOf(f.name);
    if (j < 0) throw new ImportError(`${file}: no column '${f.name}' (a feature of the schema; columns: ${names.join(", ")})`);
    return j;
  });
  const labelIndex = labelColumn === undefined ? -1 : names.indexOf(labelColumn);
  if (labelColumn !== undefined && labelIndex < 0) throw new ImportError(`${file}: no label column '${labelColumn}' (columns: ${names.join(", ")})`);
  if (records.length === 0) throw new ImportError(`${file}: no data rows`);
  const classIndex = new Map(schema.classes.map((c, i) => [c, i]));
  const labels = labelIndex < 0 ? null : new Int32Array(records.length);
  const rows = records.map((record, r) => {
    if (record.fields.length !== names.length) {
      throw new ImportError(`${file} line ${record.line}: ${record.fields.length} fields, expected ${names.length} as in the header`);
    }
    const cells = record.fields.map((f) => f.trim());
    if (labels) labels[r] = labelOf(cells[labelIndex]!, classIndex, `${file} line ${record.line}, column '${labelColumn}'`);
    return rowOf(cells, schema, columns, `${file} line ${record.line}`);
  });
  return { rows, labels };
}

function readRecords(file: string) {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new ImportError(`cannot read reference ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return parseCsv(text, file);
  } catch (err) {
    if (err instanceof CsvError) throw new ImportError(err.message);
    throw err;
  }
}

function rowOf(cells: string[], schema: ModelSchema, columns: number[], at: string): Row {
  const row: Row = {};
  schema.features.forEach((f, k) => {
    const cell = cells[columns[k]!]!;
    if (cell === "") row[f.name] = null;
    else if (f.type === "categorical") row[f.name] = cell;
    else if (DECIMAL.test(cell) && Number.isFinite(Number(cell))) row[f.name] = Number(cell);
    else throw new ImportError(`${at}, column '${f.name}': '${cell}' is not a number (the feature is numeric)`);
  });
  return row;
}

function labelOf(cell: string, classIndex: Map<string, number>, at: string): number {
  const k = classIndex.get(cell);
  if (k === undefined) throw new ImportError(`${at}: class '${cell}' is not one the model knows (${[...classIndex.keys()].join(", ")})`);
  return k;
}

/**
 * The drift baseline and reference metrics from the model's own probabilities on the reference
 * rows, as native training computes them from its held-out split. Without labels there is no
 * accuracy: label counts stay zero and there is no calibration data, so label drift and CBPE stay off.
 */
export function referenceBaseline(
  features: FeatureBaseline[],
  proba: Float32Array,
  labels: Int32Array | null,
  classes: readonly string[],
  seed: number,
): { baseline: ModelBaseline; metrics: ReferenceMetrics | Record<string, never> } {
  const c = classes.length;
  if (labels) {
    const baseline = computeBaseline(features, { proba, labels, classes: c }, seed);
    return { baseline, metrics: { ...evaluate(proba, labels, classes), testRows: labels.length } };
  }
  const predicted = Int32Array.from({ length: proba.length / c }, (_, r) => argmax(proba, r * c, c));
  // Scored as if each prediction were its own label: prediction and confidence counts are right, the rest is cleared.
  const scored = computeBaseline(features, { proba, labels: predicted, classes: c }, seed);
  const baseline = { ...scored, labelCounts: scored.labelCounts.map(() => 0), accuracy: 0, calibration: { confidence: [], correct: [] } };
  return { baseline, metrics: {} };
}
