import { afterAll, beforeAll, expect, it } from "vitest";
import { pino } from "pino";
import ort from "onnxruntime-node";
import { imputationFill, type NumericBaseline } from "../models/baseline.ts";
import { encodeRows, encodedWidth } from "../models/encode.ts";
import { getBaseline, loadArtifact, type ModelVersion } from "../models/registry.ts";
import { retrainFromLog } from "../models/retrain.ts";
import { startInferenceService, type InferenceService } from "../inference/service.ts";
import { parseScenario } from "../simulations/scenario.ts";
import { TrafficSource, type TrafficItem } from "../simulations/traffic.ts";
import { registerTrained } from "./helpers/models.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

let t: TempStore;
let svc: InferenceService;
let v1: ModelVersion;
const scenario = parseScenario({
  name: "retrain",
  seed: 5,
  dataset: { generator: "credit" },
  phases: [
    {
      name: "shifted",
      requests: 4000,
      inject: [
        { type: "covariate_shift", feature: "income", shiftStd: -1.5 },
        { type: "new_category", feature: "employment", values: ["gig_worker"], fraction: 0.3 },
      ],
    },
  ],
  expect: { rootCause: "covariate_shift", category: "data", remedy: "retrain" },
});

async function accuracyOf(version: ModelVersion, items: TrafficItem[]): Promise<number> {
  const session = await ort.InferenceSession.create(loadArtifact(version));
  const baseline = await getBaseline(t.store, version.model, version.version);
  const x = encodeRows(items.map((i) => i.row), version.schema, imputationFill(baseline.features, version.schema));
  const out = await session.run({ input: new ort.Tensor("float32", x, [items.length, encodedWidth(version.schema)]) });
  const p = out.probabilities!.data as Float32Array;
  return items.filter((item, i) => (p[i * 2 + 1]! > p[i * 2]! ? 1 : 0) === item.label).length / items.length;
}

beforeAll(async () => {
  t = await tempStore({ MLWATCH_PORT: "0", MLWATCH_HOST: "127.0.0.1" });
  v1 = await registerTrained(t.store, t.config.modelDir, { model: "credit", rows: 8000 });
  svc = await startInferenceService({ config: t.config, store: t.store, logger: pino({ level: "silent" }) });
  await svc.traffic.change({ model: "credit", change: { action: "deploy", role: "primary", version: v1.version }, actor: "test", reason: "test" });
}, 120_000);

afterAll(async () => {
  await svc?.close();
  await t?.cleanup();
});

it("trains a candidate on logged, labelled traffic that learns the new category and beats the old version on it", async () => {
  const baseline = await getBaseline(t.store, "credit", v1.version);
  const reference = new Map(baseline.features.filter((f): f is NumericBaseline => f.type === "numeric").map((f) => [f.name, f]));
  const source = new TrafficSource(scenario, v1.schema, reference, 6000);
  const active = scenario.phases[0]!.inject.map((injection) => ({ injection, start: 0 }));
  const items = Array.from({ length: 6000 }, (_, i) => source.item(i, active));
  const served = items.slice(0, 4000);
  const labels: { request_id: string; label: string }[] = [];
  for (let i = 0; i < served.length; i += 100) {
    const res = await fetch(`${svc.url}/v1/models/credit/predict`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": `rt${i}` },
      body: JSON.stringify({ instances: served.slice(i, i + 100).map((s) => s.row) }),
    });
    const body = (await res.json()) as { predictions: { request_id: string }[] };
    body.predictions.forEach((p, j) => labels.push({ request_id: p.request_id, label: v1.schema.classes[served[i + j]!.label]! }));
  }
  for (let i = 0; i < labels.length; i += 1000) {
    await fetch(`${svc.url}/v1/feedback`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ labels: labels.slice(i, i + 1000) }) });
  }
  await svc.predictions.flush();
  await svc.labels.flush();

  const result = await retrainFromLog(t.store, t.config.modelDir, { model: "credit", baseVersion: v1.version, fromUs: 0, toUs: Number.MAX_SAFE_INTEGER, actor: "test", reason: "test" });
  expect(result.postChangeRows).toBe(4000);
  expect(result.addedCategories).toEqual({ employment: ["gig_worker"] });
  expect(result.version.tags).toEqual(["retrained", `from:${v1.version}`]);
  // Four recipes judged on the newest 800 rows; v1 kept its training sample, so the reweighted ones compete.
  expect(result.heldOutRows).toBe(800);
  expect(result.candidates.map((c) => c.recipe)).toEqual(["log_only", "log_newest_half", "log_plus_reference", "log_plus_more_reference"]);
  expect(result.candidates.find((c) => c.recipe === "log_newest_half")!.trainRows).toBe(1600);
  expect(result.heldOutAccuracy).toBe(Math.max(...result.candidates.map((c) => c.heldOutAccuracy)));
  // The version's recorded held-out accuracy is the one on the population it will serve.
  expect(result.version.metrics).toMatchObject({ accuracy: result.heldOutAccuracy, testRows: 800, trainRows: result.trainedOnRows });
  expect(result.reweighting!.domainBalancedAccuracy).toBeGreaterThan(0.7);
  expect(result.trainedOnRows).toBe(result.candidates.find((c) => c.recipe === result.recipe)!.trainRows * 1.25);
  expect(result.heldOutAccuracy).toBeGreaterThan(result.servingAccuracy);
  expect(result.comparison.candidateOnlyRight).toBeGreaterThan(result.comparison.servingOnlyRight);
  expect(result.comparison.pValue).toBeLessThan(0.05);
  const fresh = items.slice(4000);
  const [oldAcc, newAcc] = [await accuracyOf(v1, fresh), await accuracyOf(result.version, fresh)];
  expect(newAcc).toBeGreaterThan(oldAcc + 0.03);
});

it("for a network, logistic candidates compete with the network's on the same held-out rows, and the best kind is registered", async () => {
  // The log the first test wrote: 4,000 labelled rows of the shifted population.
  const mlp = await registerTrained(t.store, t.config.modelDir, { model: "credit", kind: "mlp", rows: 2000, seed: 2 });
  const result = await retrainFromLog(t.store, t.config.modelDir, { model: "credit", baseVersion: mlp.version, fromUs: 0, toUs: Number.MAX_SAFE_INTEGER, actor: "test", reason: "test" });
  expect(result.candidates.map((c) => `${c.kind}:${c.recipe}`)).toEqual(
    ["mlp", "logistic"].flatMap((k) => ["log_only", "log_newest_half", "log_plus_reference", "log_plus_more_reference"].map((r) => `${k}:${r}`)),
  );
  const best = result.candidates.reduce((a, b) => (b.heldOutAccuracy > a.heldOutAccuracy ? b : a));
  expect(result.heldOutAccuracy).toBe(best.heldOutAccuracy);
  expect(result.version.kind).toBe(result.kind);
  expect(result.candidates.find((c) => c.kind === result.kind && c.recipe === result.recipe)!.heldOutAccuracy).toBe(result.heldOutAccuracy);
}, 120_000);

it("refuses with a clear message when too few labelled rows exist", async () => {
  await expect(
    retrainFromLog(t.store, t.config.modelDir, { model: "credit", baseVersion: v1.version, fromUs: 0, toUs: 1, actor: "test", reason: "test" }),
  ).rejects.toThrow(/needs at least 500 labelled rows with raw features since the change point; found 0/);
});
