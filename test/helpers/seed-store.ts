/**
 * Seeds the prediction log with realistic rows, as the inference service would have written them,
 * for tests of anything that reads the log (analysis/, the MCP server, the agent).
 *
 *   seedPredictions(store, { model, version, schema, rows, labels, startUs, stepUs, requestIdPrefix })
 *     scores `rows` with the real model (the registered ONNX artifact through onnxruntime, or the
 *     `predict` function you pass, e.g. tsPredictor(trained.weights, …) for speed), bins every
 *     feature against the version's baseline (binRow, exactly as serving does), and inserts
 *     PredictionRow objects at startUs, startUs + stepUs, … plus one label row per given label.
 *     It returns what a test needs to compute expected figures independently of the SQL under test.
 *
 *   seedDriftScenario(store, modelDir) trains and registers two credit models and seeds three
 *     windows (undrifted, drifted with a shadow, drifted with a canary); see DriftScenario.
 *
 * Rows are identified by `${requestIdPrefix}${i}`. Seeding the same prefix for a second version
 * with variant "shadow" pairs the rows with the first version's, as serving's shadow mirroring does.
 */
import ort from "onnxruntime-node";
import { binRow, imputationFill, type ModelBaseline } from "../../models/baseline.ts";
import { generateCredit, type CreditOptions } from "../../models/datasets/credit.ts";
import { encodedWidth, encodeRows } from "../../models/encode.ts";
import { argmax } from "../../models/evaluate.ts";
import { predictProba } from "../../models/predict.ts";
import { getBaseline, getVersion, loadArtifact, registerVersion, setStatus, type ModelVersion } from "../../models/registry.ts";
import type { Dataset, ModelSchema, Row } from "../../models/schema.ts";
import type { TrainedModel } from "../../models/train/network.ts";
import { trainModel, type TrainResult } from "../../models/train.ts";
import type { Store } from "../../store/client.ts";
import { recordDeploymentEvent } from "../../store/deployments.ts";
import { labelsTable, predictionsTable, type LabelRow, type PredictionRow, type Variant } from "../../store/tables.ts";

/** Probabilities, row-major [rows.length, classes]. */
export type Predict = (rows: readonly Row[]) => Float32Array | Promise<Float32Array>;

export interface SeedOptions {
  model: string;
  version: string;
  schema: ModelSchema;
  /** The version's baseline; default: read from the registry. */
  baseline?: ModelBaseline;
  rows: readonly Row[];
  /** True class per row (a class name); null or a shorter array leaves rows unlabelled. */
  labels?: readonly (string | null)[];
  /** Timestamp of row 0 and the gap between rows, µs. */
  startUs: number;
  stepUs: number;
  /** Default "primary". */
  variant?: Variant;
  /** Default: the version's registered ONNX artifact run through onnxruntime-node. */
  predict?: Predict;
  /** Request ids are `${requestIdPrefix}${i}`. */
  requestIdPrefix: string;
  /** Every n-th row (i % n === n − 1) is logged as failed: no prediction, error "inference_failed: …". */
  errorEvery?: number;
  /** "hash" logs no raw values (feature_num/feature_cat empty), as MLWATCH_LOG_FEATURES=hash. Default "raw". */
  logFeatures?: "raw" | "hash";
  /** Latency of row i in µs; default a deterministic spread over 0.8–12 ms. */
  latencyUs?: (i: number) => number;
  /** label_ts = ts + this; default 60 s. */
  labelDelayUs?: number;
  /** Rows per insert; default 5000. */
  batchSize?: number;
  correlationId?: string;
}

export interface SeededPredictions {
  /** The rows as given, in order: row i has request id requestIds[i]. */
  rows: readonly Row[];
  requestIds: string[];
  /** Per row: the predicted class, or null for an error row. */
  predicted: (string | null)[];
  confidence: number[];
  labels: (string | null)[];
  latencyUs: number[];
  /** Answered (non-error) rows. */
  answered: number;
  errors: number;
  /** Answered rows with a label, and those whose prediction matched it. */
  labelled: number;
  correct: number;
  /** [fromUs, toUs) covering exactly the seeded rows. */
  fromUs: number;
  toUs: number;
}

/** Scores and inserts rows as serving would log them, plus their labels. */
export async function seedPredictions(store: Store, o: SeedOptions): Promise<SeededPredictions> {
  const baseline = o.baseline ?? (await getBaseline(store, o.model, o.version));
  const onnx = o.predict ? null : await onnxPredictor(store, o.model, o.version, o.schema, baseline);
  const predict = o.predict ?? onnx!.predict;
  try {
    return await insertScored(store, o, baseline, predict);
  } finally {
    await onnx?.release();
  }
}

async function insertScored(store: Store, o: SeedOptions, baseline: ModelBaseline, predict: Predict): Promise<SeededPredictions> {
  const classes = o.schema.classes;
  const batchSize = o.batchSize ?? 5000;
  const variant = o.variant ?? "primary";
  const numeric = o.schema.features.filter((f) => f.type === "numeric").map((f) => f.name);
  const categorical = o.schema.features.filter((f) => f.type === "categorical").map((f) => f.name);
  const raw = (o.logFeatures ?? "raw") === "raw";
  const out: SeededPredictions = {
    rows: o.rows,
    requestIds: [],
    predicted: [],
    confidence: [],
    labels: [],
    latencyUs: [],
    answered: 0,
    errors: 0,
    labelled: 0,
    correct: 0,
    fromUs: o.startUs,
    toUs: o.startUs + Math.max(o.rows.length, 1) * o.stepUs,
  };
  for (let start = 0; start < o.rows.length; start += batchSize) {
    const batch = o.rows.slice(start, start + batchSize);
    const proba = await predict(batch);
    if (proba.length !== batch.length * classes.length) throw new Error(`predict returned ${proba.length} values for ${batch.length} rows × ${classes.length} classes`);
    const predictions: PredictionRow[] = [];
    const labels: LabelRow[] = [];
    batch.forEach((row, j) => {
      const i = start + j;
      const ts = o.startUs + i * o.stepUs;
      const requestId = `${o.requestIdPrefix}${i}`;
      const failed = o.errorEvery !== undefined && o.errorEvery > 0 && i % o.errorEvery === o.errorEvery - 1;
      const best = argmax(proba, j * classes.length, classes.length);
      const probabilities = Array.from(proba.subarray(j * classes.length, (j + 1) * classes.length));
      const latency = Math.round(o.latencyUs ? o.latencyUs(i) : 800 + ((i * 7919) % 11_200));
      const label = o.labels?.[i] ?? null;
      predictions.push({
        request_id: requestId,
        ts,
        model: o.model,
        version: o.version,
        variant,
        feature_num: raw ? numeric.map((n) => numberOrNull(row[n])) : [],
        feature_cat: raw ? categorical.map((n) => stringOrEmpty(row[n])) : [],
        feature_bin: binRow(row, baseline),
        feature_hash: `seed-${requestId}`,
        predicted: failed ? "" : classes[best]!,
        probabilities: failed ? [] : probabilities,
        confidence: failed ? 0 : probabilities[best]!,
        latency_us: latency,
        error: failed ? "inference_failed: seeded failure" : "",
        correlation_id: o.correlationId ?? `seed-${o.requestIdPrefix}`,
        fallback: "",
        cached: 0,
        job_id: "",
      });
      if (label !== null) labels.push({ request_id: requestId, model: o.model, label, label_ts: ts + (o.labelDelayUs ?? 60e6) });
      out.requestIds.push(requestId);
      out.predicted.push(failed ? null : classes[best]!);
      // Float32, as the column stores it.
      out.confidence.push(failed ? 0 : Math.fround(probabilities[best]!));
      out.labels.push(label);
      out.latencyUs.push(latency);
      if (failed) out.errors++;
      else {
        out.answered++;
        if (label !== null) {
          out.labelled++;
          if (label === classes[best]) out.correct++;
        }
      }
    });
    await store.insert(predictionsTable.name, predictions);
    await store.insert(labelsTable.name, labels);
  }
  return out;
}

/** Probabilities from the trained weights in TypeScript (models/predict.ts), imputing as serving does. */
export function tsPredictor(weights: TrainedModel, schema: ModelSchema, baseline: ModelBaseline): Predict {
  const fill = imputationFill(baseline.features, schema);
  return (rows) => predictProba(weights, encodeRows(rows, schema, fill), rows.length);
}

/** Probabilities from the version's registered ONNX artifact, as the inference service computes them; release() frees the session. */
export async function onnxPredictor(
  store: Store,
  model: string,
  version: string,
  schema: ModelSchema,
  baseline: ModelBaseline,
): Promise<{ predict: Predict; release: () => Promise<void> }> {
  const meta = await getVersion(store, model, version);
  const session = await ort.InferenceSession.create(loadArtifact(meta));
  const input = session.inputNames[0]!;
  const output = session.outputNames.includes("probabilities") ? "probabilities" : session.outputNames[0]!;
  const fill = imputationFill(baseline.features, schema);
  const width = encodedWidth(schema);
  return {
    predict: async (rows) => {
      const encoded = encodeRows(rows, schema, fill);
      const result = await session.run({ [input]: new ort.Tensor("float32", encoded, [rows.length, width]) }, [output]);
      return result[output]!.data as Float32Array;
    },
    release: () => session.release(),
  };
}

/** Class names of a generated dataset's labels. */
export function labelNames(dataset: Dataset): string[] {
  return dataset.examples.map((e) => dataset.schema.classes[e.label]!);
}

export interface ScenarioWindow {
  fromUs: number;
  toUs: number;
}

export interface DriftScenario {
  model: string;
  /** Trained on the original population; production primary throughout. */
  v1: ModelVersion;
  /** Retrained on the shifted population: better on the drifted windows. Shadow, then canary. */
  v2: ModelVersion;
  trained: { v1: TrainResult; v2: TrainResult };
  windows: {
    /** Undrifted traffic, v1 primary only, every row labelled, every 100th row an error. */
    baseline: ScenarioWindow;
    /** income +2 reference std and the newer risk concept; v1 primary, v2 shadow on every request. */
    drifted: ScenarioWindow;
    /** Same population as `drifted`; even rows v1 primary, odd rows v2 canary. */
    canary: ScenarioWindow;
  };
  seeded: {
    baseline: SeededPredictions;
    drifted: SeededPredictions;
    shadow: SeededPredictions;
    canaryV1: SeededPredictions;
    canaryV2: SeededPredictions;
  };
  /** The feature whose marginal was shifted. */
  driftedFeature: "income";
  /** How far income's mean moved, in reference (training) standard deviations. */
  incomeShiftStd: number;
  /** The version that is more accurate on the drifted windows. */
  betterVersion: string;
  /** The credit options that generated the drifted windows. */
  driftedOptions: CreditOptions;
}

export interface ScenarioOptions {
  model?: string;
  /** Rows per window (default 3000). */
  rows?: number;
  /** End of the last window (default now); see seedDriftScenario for the timeline. */
  nowUs?: number;
}

const HOUR_US = 3600e6;

/**
 * A credit model whose traffic drifts. Timeline, each window one hour, ending at nowUs:
 *   [now−5h, now−4h) baseline: generateCredit as trained on; v1 primary.
 *   [now−3h, now−2h) drifted: income's median scaled so its mean rises by 2 reference std, and the
 *                    labels follow the shifted risk concept (conceptShift 1), so v1's accuracy falls
 *                    (a covariate shift alone would not lower it: the richer applicants are easier);
 *                    v2, retrained on that population, scores every request as shadow.
 *   [now−1h, now)    canary: the same drifted population, alternating v1 primary / v2 canary.
 * All rows are labelled with the true labelling function of their window.
 */
export async function seedDriftScenario(store: Store, modelDir: string, options: ScenarioOptions = {}): Promise<DriftScenario> {
  const model = options.model ?? "credit";
  const n = options.rows ?? 3000;
  const nowUs = options.nowUs ?? Date.now() * 1000;
  const trainedV1 = trainModel({ dataset: generateCredit(3000, 1), kind: "logistic", seed: 1 });
  const income = trainedV1.baseline.features.find((f) => f.name === "income");
  if (income?.type !== "numeric") throw new Error("credit baseline has no numeric income");
  // Scaling a log-normal's median scales its mean: mean·k = mean + 2·std.
  const factor = 1 + (2 * income.std) / income.mean;
  const driftedOptions: CreditOptions = { marginals: { incomeMedian: 42_000 * factor }, conceptShift: 1 };
  const trainedV2 = trainModel({ dataset: generateCredit(3000, 2, driftedOptions), kind: "logistic", seed: 2 });
  const register = (t: TrainResult) =>
    registerVersion(store, modelDir, {
      model,
      kind: "logistic",
      onnx: t.onnx,
      schema: t.schema,
      metrics: t.metrics,
      trainingData: t.trainingData,
      baseline: t.baseline,
      actor: "seed",
    });
  const v1 = await register(trainedV1);
  const v2 = await register(trainedV2);
  await setStatus(store, model, v1.version, "production");
  await recordDeploymentEvent(store, {
    model,
    action: "deploy",
    version: v1.version,
    state: { primary: v1.version, previous: null, shadow: null, canary: { version: v2.version, percent: 50 } },
    actor: "seed",
    reason: "seeded drift scenario",
  });

  const schema = trainedV1.schema;
  const p1 = tsPredictor(trainedV1.weights, schema, trainedV1.baseline);
  const p2 = tsPredictor(trainedV2.weights, schema, trainedV2.baseline);
  const step = Math.floor(HOUR_US / n);
  const windowAt = (endBeforeNowHours: number): ScenarioWindow => ({ fromUs: nowUs - (endBeforeNowHours + 1) * HOUR_US, toUs: nowUs - endBeforeNowHours * HOUR_US });
  const windows = { baseline: windowAt(4), drifted: windowAt(2), canary: windowAt(0) };
  const v1Seed = { model, version: v1.version, schema, baseline: trainedV1.baseline, predict: p1 };
  const v2Seed = { model, version: v2.version, schema, baseline: trainedV2.baseline, predict: p2 };

  const base = generateCredit(n, 101);
  const baseline = await seedPredictions(store, {
    ...v1Seed,
    rows: base.examples.map((e) => e.row),
    labels: labelNames(base),
    startUs: windows.baseline.fromUs,
    stepUs: step,
    requestIdPrefix: "base-",
    errorEvery: 100,
  });

  const shifted = generateCredit(n, 102, driftedOptions);
  const shiftedRows = shifted.examples.map((e) => e.row);
  const common = { rows: shiftedRows, labels: labelNames(shifted), startUs: windows.drifted.fromUs, stepUs: step, requestIdPrefix: "drift-" };
  const drifted = await seedPredictions(store, { ...v1Seed, ...common });
  // The shadow scores the same requests a moment after the primary answered.
  const shadow = await seedPredictions(store, { ...v2Seed, ...common, startUs: common.startUs + 500, variant: "shadow" });

  const canaryData = generateCredit(n, 103, driftedOptions);
  const even = canaryData.examples.filter((_, i) => i % 2 === 0);
  const odd = canaryData.examples.filter((_, i) => i % 2 === 1);
  const canaryV1 = await seedPredictions(store, {
    ...v1Seed,
    rows: even.map((e) => e.row),
    labels: even.map((e) => schema.classes[e.label]!),
    startUs: windows.canary.fromUs,
    stepUs: step * 2,
    requestIdPrefix: "canary-a-",
  });
  const canaryV2 = await seedPredictions(store, {
    ...v2Seed,
    rows: odd.map((e) => e.row),
    labels: odd.map((e) => schema.classes[e.label]!),
    startUs: windows.canary.fromUs + step,
    stepUs: step * 2,
    variant: "canary",
    requestIdPrefix: "canary-b-",
  });

  return {
    model,
    v1,
    v2,
    trained: { v1: trainedV1, v2: trainedV2 },
    windows,
    seeded: { baseline, drifted, shadow, canaryV1, canaryV2 },
    driftedFeature: "income",
    incomeShiftStd: 2,
    betterVersion: v2.version,
    driftedOptions,
  };
}

function numberOrNull(v: unknown): number | null {
  return typeof v === "number" ? v : null;
}

function stringOrEmpty(v: unknown): string {
  return typeof v === "string" ? v : "";
}
