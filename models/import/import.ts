import fs from "node:fs";
import path from "node:path";
import type { Store } from "../../store/client.ts";
import { featureBaselines, imputationFill } from "../baseline.ts";
import { MODEL_NAME, registerVersion, sha256, type ModelVersion, type NewVersion } from "../registry.ts";
import type { ModelSchema, Row } from "../schema.ts";
import { completeSchema, type ScoreKind } from "./complete-schema.ts";
import { ImportError } from "./errors.ts";
import { encodeOnnx, readOnnx, summarizeGraph } from "./inspect.ts";
import { scoreOutput } from "./io-mapping.ts";
import { ioScorer, type Scorer } from "./io-scorer.ts";
import { readReference, referenceBaseline } from "./reference.ts";
import { readSchemaFile } from "./schema-file.ts";
import { openSession, runtimeReason } from "./session.ts";
import { replaceZipMapOutputs, type ZipMapRewrite } from "./zipmap-rewrite.ts";

export interface ImportRequest {
  model: string;
  /** The ONNX file as exported. */
  file: string;
  /** Optional: what the graph states is inferred. */
  schemaFile?: string;
  reference: string;
  /** Label column of the reference CSV: reference accuracy and calibration data for estimated accuracy. */
  label?: string;
  /** How to read the score output when the schema file does not say; default probabilities. */
  outputs?: ScoreKind;
  /** Seeds the baseline's reservoir samples. */
  seed?: number;
  actor?: string;
}

export interface ImportResult {
  version: ModelVersion;
  inferred: string[];
  rewrites: ZipMapRewrite[];
  referenceRows: number;
}

/** A checked import, ready to register: here, or through a running serve that owns the store. */
export interface PreparedImport extends Omit<ImportResult, "version"> {
  input: NewVersion;
}

/** Rows scored before anything is registered, to fail on what serving would fail on. */
export const DRY_RUN_ROWS = 100;
const SCORING_CHUNK_ROWS = 10_000;
/** How far a row's probabilities may sum from 1 before the output is taken for logits. */
const PROBABILITY_SUM_TOLERANCE = 1e-3;

// A type alias rather than an interface: the registry takes training data as Record<string, unknown>.
export type ImportedSource = {
  description: string;
  rows: number;
  seed: number;
  /** The file as exported; the registered artifact differs from it when ZipMap outputs were rewritten. */
  source: { file: string; sha256: string; producer: string; rewrites: string[] };
};

/**
 * Checks, dry-runs and registers a model trained elsewhere: the graph must decode and open in
 * onnxruntime, match the (completed) schema, and score the reference data; the reference rows
 * become its drift baseline and, with labels, its reference accuracy and CBPE calibration. Nothing
 * is registered unless every check passes.
 */
export async function importModel(store: Store, modelDir: string, req: ImportRequest): Promise<ImportResult> {
  const { input, ...prepared } = await prepareImport(req);
  return { ...prepared, version: await registerVersion(store, modelDir, input) };
}

/** Every check of importModel, and the version to register; nothing is written. */
export async function prepareImport(req: ImportRequest): Promise<PreparedImport> {
  if (!MODEL_NAME.test(req.model)) throw new ImportError(`--name '${req.model}': lowercase letters, digits, '-' or '_', at most 64`);
  const original = readModelFile(req.file);
  const proto = readOnnx(original, req.file);
  const graph = summarizeGraph(proto);
  const schemaFile = req.schemaFile === undefined ? {} : readSchemaFile(req.schemaFile);
  const { schema, inferred } = completeSchema(graph, schemaFile, { kind: req.outputs, label: req.label });
  const rewrites = replaceZipMapOutputs(proto);
  const artifact = rewrites.length > 0 ? encodeOnnx(proto) : original;
  const reference = readReference(req.reference, schema, req.label);
  const seed = req.seed ?? 1;
  const features = featureBaselines(reference.rows, schema, seed);
  const session = await openSession(artifact, req.file);
  try {
    const scorer = ioScorer(session, schema, imputationFill(features, schema));
    await dryRun(scorer, reference.rows.slice(0, DRY_RUN_ROWS), schema, req.reference);
    const proba = await scoreAll(scorer, reference.rows, schema.classes.length);
    const { baseline, metrics } = referenceBaseline(features, proba, reference.labels, schema.classes, seed);
    const trainingData: ImportedSource = {
      description: `imported ${path.basename(req.file)}, reference ${path.basename(req.reference)}`,
      rows: reference.rows.length,
      seed,
      source: { file: path.basename(req.file), sha256: sha256(original), producer: graph.producer, rewrites: rewrites.map(describeRewrite) },
    };
    const input: NewVersion = {
      model: req.model,
      kind: "imported",
      onnx: artifact,
      schema,
      metrics,
      trainingData,
      baseline,
      tags: ["imported"],
      ...(reference.labels ? { reference: reference.rows.map((row, i) => ({ row, label: reference.labels![i]! })) } : {}),
      actor: req.actor ?? "cli",
    };
    return { input, inferred, rewrites, referenceRows: reference.rows.length };
  } finally {
    await session.release();
  }
}

export function describeRewrite(r: ZipMapRewrite): string {
  return `ZipMap output '${r.output}' replaced by its input '${r.source}' as a float tensor [N, ${r.classes}] (onnxruntime-node cannot return ZipMap values)`;
}

function readModelFile(file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new ImportError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

async function dryRun(scorer: Scorer, rows: Row[], schema: ModelSchema, referenceFile: string): Promise<void> {
  let proba: Float32Array;
  try {
    proba = await scorer.run(scorer.encode(rows), rows.length);
  } catch (err) {
    throw new ImportError(`dry run on the first ${rows.length} rows of ${referenceFile} failed: ${runtimeReason(err)}`);
  }
  const c = schema.classes.length;
  for (let r = 0; r < rows.length; r++) {
    const p = proba.subarray(r * c, (r + 1) * c);
    const sum = p.reduce((a, b) => a + b, 0);
    if (!p.every((x) => Number.isFinite(x) && x >= 0 && x <= 1) || Math.abs(sum - 1) > PROBABILITY_SUM_TOLERANCE) {
      const score = scoreOutput(schema.io!.outputs).name;
      throw new ImportError(
        `dry run: row ${r + 1} of ${referenceFile} scores [${Array.from(p, (x) => x.toFixed(4)).join(", ")}] from output '${score}', not probabilities; if the output holds logits, import with --outputs logits`,
      );
    }
  }
}

async function scoreAll(scorer: Scorer, rows: Row[], classes: number): Promise<Float32Array> {
  const out = new Float32Array(rows.length * classes);
  for (let start = 0; start < rows.length; start += SCORING_CHUNK_ROWS) {
    const chunk = rows.slice(start, start + SCORING_CHUNK_ROWS);
    out.set(await scorer.run(scorer.encode(chunk), chunk.length), start * classes);
  }
  return out;
}
