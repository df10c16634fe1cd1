import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { imputationFill } from "../models/baseline.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import { encodeRows } from "../models/encode.ts";
import { baselineBackground, type Background } from "../models/explain/background.ts";
import { explainRow, type Explanation } from "../models/explain/explain-row.ts";
import { openScorer, type OpenedScorer } from "../models/explain/open-scorer.ts";
import { importModel } from "../models/import/import.ts";
import { registerVersion } from "../models/registry.ts";
import type { Row } from "../models/schema.ts";
import { trainModel, type TrainResult } from "../models/train.ts";
import type { InferenceService } from "../inference/service.ts";
import { postOk, requestJson } from "./helpers/http.ts";
import { churnData, sklearnPipeline, writeCsv } from "./helpers/onnx-conventions.ts";
import { startService } from "./helpers/service.ts";
import { LOOPBACK, tempStore, type TempStore } from "./helpers/temp-store.ts";

let t: TempStore;
let svc: InferenceService;
let hashed: InferenceService;
const trained: Record<"logistic" | "mlp", TrainResult> = {} as never;
const scorers: Partial<Record<"logistic" | "mlp" | "imported", OpenedScorer>> = {};
const rows = generateCredit(20, 77).examples.map((e) => e.row);

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const byFeature = (e: Explanation) => new Map(e.attributions.map((a) => [a.feature, a]));

async function register(model: string, kind: "logistic" | "mlp"): Promise<string> {
  const result = trainModel({ dataset: generateCredit(3000, 1), kind, seed: 1 });
  trained[kind] = result;
  const v = await registerVersion(t.store, t.config.modelDir, { model, kind, onnx: result.onnx, schema: result.schema, metrics: result.metrics, trainingData: result.trainingData, baseline: result.baseline });
  return v.version;
}

async function deploy(s: InferenceService, model: string, version: string): Promise<void> {
  await s.traffic.change({ model, change: { action: "deploy", role: "primary", version }, actor: "test", reason: "setup" });
}

function explain(kind: "logistic" | "mlp" | "imported", row: Row, background: Background, options: Parameters<typeof explainRow>[3]) {
  const s = scorers[kind]!;
  return explainRow({ scorer: s, model: s.meta.model, version: s.meta.version, kind, schema: s.meta.schema }, row, background, options);
}

beforeAll(async () => {
  t = await tempStore(LOOPBACK);
  const logistic = await register("credit", "logistic");
  const mlp = await register("credit-mlp", "mlp");
  const hashOnly = await register("private", "logistic");
  scorers.logistic = await openScorer(t.store, "credit", logistic);
  scorers.mlp = await openScorer(t.store, "credit-mlp", mlp);
  // An scikit-learn pipeline graph with a string input, registered as `mlwatch models import` does.
  const reference = path.join(t.dir, "churn.csv");
  writeCsv(reference, churnData(1500, 1));
  const onnxFile = path.join(t.dir, "churn.onnx");
  fs.writeFileSync(onnxFile, sklearnPipeline());
  const imported = await importModel(t.store, t.config.modelDir, { model: "churn", file: onnxFile, reference, label: "churned" });
  scorers.imported = await openScorer(t.store, "churn", imported.version.version);
  svc = await startService(t);
  await deploy(svc, "credit", logistic);
  await deploy(svc, "credit-mlp", mlp);
  // A second service on the same store that logs features as hashes only (its own spool directory).
  hashed = await startService({ ...t, config: { ...t.config, dataDir: path.join(t.dir, "hashed"), logFeatures: "hash" } });
  await deploy(hashed, "private", hashOnly);
}, 180_000);

afterAll(async () => {
  await scorers.logistic?.release();
  await scorers.mlp?.release();
  await scorers.imported?.release();
  await hashed?.close();
  await svc?.close();
  await t?.cleanup();
});

describe("exact Shapley values of a linear model", () => {
  it("equal w_i·(x_i − E[x_i]) on the log-odds, from the trained weights, and sum to f(x) − E[f]", async () => {
    const { weights, schema, baseline } = trained.logistic;
    const background = baselineBackground(schema, baseline, "1");
    const x = rows[0]!;
    const e = await explain("logistic", x, background, {});
    expect(e.method.name).toBe("exact-linear");
    expect(e.output.space).toBe("logit");
    // Independently: the softmax layer's weight difference times the standardized encoded deviation from the background mean.
    const fill = imputationFill(baseline.features, schema);
    const ex = encodeRows([x], schema, fill);
    const eb = encodeRows(background.rows, schema, fill);
    const width = ex.length;
    const k = schema.classes.indexOf(e.class);
    const layer = weights.layers[0]!;
    let slot = 0;
    for (const f of schema.features) {
      const slots = f.type === "numeric" ? 1 : f.categories.length + 1;
      let phi = 0;
      for (let s = slot; s < slot + slots; s++) {
        let mean = 0;
        for (let r = 0; r < background.rows.length; r++) mean += eb[r * width + s]!;
        mean /= background.rows.length;
        const w = layer.weights[s * 2 + k]! - layer.weights[s * 2 + 1 - k]!;
        phi += (w * (ex[s]! - mean)) / weights.standardizer.std[s]!;
      }
      slot += slots;
      expect(byFeature(e).get(f.name)!.attribution).toBeCloseTo(phi, 3);
    }
    expect(Math.abs(e.additivityGap)).toBeLessThan(1e-4);
    const p = e.probabilities[k]!;
    expect(e.value).toBeCloseTo(Math.log(p / (1 - p)), 4);
  });

  it("permutation sampling agrees with them on the log-odds", async () => {
    const background = baselineBackground(trained.logistic.schema, trained.logistic.baseline, "1", 40);
    for (const x of rows.slice(0, 3)) {
      const exact = await explain("logistic", x, background, { method: "exact" });
      const sampled = await explain("logistic", x, background, { method: "sampling", permutations: 400, seed: 3 });
      expect(sampled.method.name).toBe("permutation-sampling");
      for (const a of exact.attributions) expect(byFeature(sampled).get(a.feature)!.attribution).toBeCloseTo(a.attribution, 4);
      expect(sampled.expectedValue).toBeCloseTo(exact.expectedValue, 5);
    }
  });

  it("permutation sampling agrees with exact enumeration on the probability scale, where the model is not additive", async () => {
    const background = baselineBackground(trained.logistic.schema, trained.logistic.baseline, "1", 40);
    const x = rows[1]!;
    const exact = await explain("logistic", x, background, { method: "exact", output: "probability" });
    expect(exact.method.name).toBe("exact-enumeration");
    const sampled = await explain("logistic", x, background, { method: "sampling", output: "probability", permutations: 4000 });
    for (const a of exact.attributions) {
      const s = byFeature(sampled).get(a.feature)!;
      expect(Math.abs(s.attribution - a.attribution)).toBeLessThanOrEqual(4 * s.standardError + 1e-6);
      expect(Math.abs(s.attribution - a.attribution)).toBeLessThan(0.005);
    }
    expect(Math.abs(exact.additivityGap)).toBeLessThan(1e-6);
  });
});

describe("sampling for an MLP", () => {
  it("is additive on the probability scale and close to exact enumeration", async () => {
    const background = baselineBackground(trained.mlp.schema, trained.mlp.baseline, "1", 40);
    const x = rows[2]!;
    const sampled = await explain("mlp", x, background, {});
    expect(sampled.method.name).toBe("permutation-sampling");
    expect(sampled.output.space).toBe("probability");
    expect(sampled.value).toBeCloseTo(sampled.probabilities[sampled.predicted === "yes" ? 1 : 0]!, 6);
    expect(Math.abs(sampled.value - sampled.expectedValue - sum(sampled.attributions.map((a) => a.attribution)))).toBeLessThan(1e-6);
    const exact = await explain("mlp", x, background, { method: "exact" });
    for (const a of exact.attributions) expect(Math.abs(byFeature(sampled).get(a.feature)!.attribution - a.attribution)).toBeLessThan(0.02);
  });
});

describe("sampling for an imported graph", () => {
  it("reads the graph through its io mapping, is additive, and agrees with exact enumeration", async () => {
    const s = scorers.imported!;
    const background = baselineBackground(s.meta.schema, s.baseline, s.meta.version, 50);
    const x = churnData(1, 9).rows[0]!;
    const sampled = await explain("imported", x, background, { permutations: 2000 });
    expect(s.meta.kind).toBe("imported");
    expect(sampled.method.name).toBe("permutation-sampling");
    expect(Math.abs(sampled.additivityGap)).toBeLessThan(1e-6);
    const exact = await explain("imported", x, background, { method: "exact" });
    expect(exact.method.name).toBe("exact-enumeration");
    for (const a of exact.attributions) {
      const b = byFeature(sampled).get(a.feature)!;
      expect(Math.abs(b.attribution - a.attribution)).toBeLessThanOrEqual(4 * b.standardError + 1e-6);
    }
    expect(byFeature(exact).get("plan")!.value).toBe(x.plan);
  });
});

describe("POST /v1/models/:name/explain", () => {
  it("explains a logged request id with the features the log holds", async () => {
    const answer = await postOk(`${svc.url}/v1/models/credit-mlp/predict`, { features: rows[3] }, { "x-request-id": "explain-me" });
    const e = await postOk(`${svc.url}/v1/models/credit-mlp/explain`, { request_id: "explain-me" });
    expect(e.source).toMatchObject({ kind: "logged", requestId: "explain-me", variant: "primary", loggedPredicted: answer.predictions[0].predicted });
    expect(e.predicted).toBe(answer.predictions[0].predicted);
    e.probabilities.forEach((p: number, i: number) => expect(p).toBeCloseTo(answer.predictions[0].probabilities[i], 6));
    expect(e.background).toMatchObject({ source: "baseline-marginals", rows: 100 });
    expect(e.background.description).toMatch(/stored baseline/);
    const total = sum(e.attributions.map((a: { attribution: number }) => a.attribution));
    expect(e.value - e.expectedValue - total).toBeCloseTo(0, 6);
  });

  it("explains a posted row with the primary version", async () => {
    const e = await postOk(`${svc.url}/v1/models/credit/explain`, { features: rows[4] });
    expect(e).toMatchObject({ version: "1", versionChosenBy: "the primary version", source: { kind: "posted" }, method: { name: "exact-linear" } });
    expect(e.attributions).toHaveLength(8);
  });

  it("answers 4xx naming the field for an unknown feature, a missing one, an unlogged id, an unknown class or model", async () => {
    const url = `${svc.url}/v1/models/credit/explain`;
    const zip = await requestJson(url, { body: { features: { ...rows[0], zip: "12345" } } });
    expect(zip.status).toBe(400);
    expect(zip.json).toMatchObject({ error: "invalid_request", field: "body.features.zip" });
    expect(zip.json.reason).toMatch(/unknown feature.*known features: age/);
    const { age: _age, ...noAge } = rows[0]!;
    expect((await requestJson(url, { body: { features: noAge } })).json).toMatchObject({ field: "body.features.age", reason: expect.stringMatching(/missing/) });
    const never = await requestJson(url, { body: { request_id: "never-logged" } });
    expect(never.status).toBe(404);
    expect(never.json).toMatchObject({ error: "not_found", field: "body.request_id" });
    expect(never.json.reason).toMatch(/no prediction .* 'never-logged'/);
    const cls = await requestJson(url, { body: { features: rows[0], class: "maybe" } });
    expect(cls.json).toMatchObject({ field: "body.class", reason: expect.stringMatching(/classes: no, yes/) });
    expect((await requestJson(url, { body: { features: rows[0], request_id: "x" } })).status).toBe(400);
    expect((await requestJson(url, { body: { features: rows[0], background: 3 } })).json).toMatchObject({ field: "body", reason: "unknown property 'background'" });
    expect((await requestJson(`${svc.url}/v1/models/nope/explain`, { body: { features: rows[0] } })).status).toBe(404);
  });

  it("refuses a request logged as a hash only, saying to post its features", async () => {
    await postOk(`${hashed.url}/v1/models/private/predict`, { features: rows[5] }, { "x-request-id": "hashed-one" });
    const r = await requestJson(`${hashed.url}/v1/models/private/explain`, { body: { request_id: "hashed-one" } });
    expect(r.status).toBe(400);
    expect(r.json.field).toBe("body.request_id");
    expect(r.json.reason).toMatch(/MLWATCH_LOG_FEATURES=hash.*post its features/);
    const posted = await postOk(`${hashed.url}/v1/models/private/explain`, { features: rows[5] });
    expect(posted.source.kind).toBe("posted");
  });
});
