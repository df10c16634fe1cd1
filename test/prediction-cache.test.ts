import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryLogs } from "../analysis/index.ts";
import { loadConfig } from "../config.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import { isDeterministic } from "../models/determinism.ts";
import { loadArtifact, type ModelVersion } from "../models/registry.ts";
import { PredictionCache } from "../inference/prediction-cache.ts";
import type { InferenceService } from "../inference/service.ts";
import { requestJson, type JsonAnswer } from "./helpers/http.ts";
import { registerTrained } from "./helpers/models.ts";
import { randomOnnx, registerRandomVersion } from "./helpers/onnx-graphs.ts";
import { metricValue } from "./helpers/prom-text.ts";
import { startService } from "./helpers/service.ts";
import { LOOPBACK, tempStore, type TempStore } from "./helpers/temp-store.ts";

let t: TempStore;
let svc: InferenceService;
let v1: ModelVersion;
let v2: ModelVersion;
let random: ModelVersion;
const rows = generateCredit(20, 55).examples.map((e) => e.row);
let n = 0;

const predict = (body: unknown): Promise<JsonAnswer> => requestJson(`${svc.url}/v1/models/credit/predict`, { body, headers: { "x-request-id": `pc-${++n}` } });
const deploy = (version: string) => svc.traffic.change({ model: "credit", change: { action: "deploy", role: "primary", version }, actor: "test", reason: "setup" });
const counter = async (name: string, version: string) => metricValue(await (await fetch(`${svc.url}/metrics`)).text(), name, { version });

async function cachedFlags(prefix: string): Promise<{ request_id: string; cached: number }[]> {
  await svc.predictions.flush();
  return t.store.rows(`SELECT request_id, cached FROM ${t.store.table("predictions")} WHERE startsWith(request_id, {p:String}) ORDER BY request_id`, { p: prefix });
}

beforeAll(async () => {
  t = await tempStore({ ...LOOPBACK, MLWATCH_PREDICTION_CACHE: "1", MLWATCH_PREDICTION_CACHE_SIZE: "100", MLWATCH_LOG_FLUSH_MS: "50" });
  v1 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1, rows: 800 });
  v2 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 2, rows: 800 });
  random = await registerRandomVersion(t.store, t.config.modelDir);
  svc = await startService(t);
  await deploy(v1.version);
}, 120_000);

afterAll(async () => {
  await svc?.close();
  await t?.cleanup();
});

describe("the prediction cache", () => {
  it("answers a repeated row from the cache with the same answer, logs it with cached=1 and counts hit and miss", async () => {
    const first = await predict({ features: rows[0] });
    const second = await predict({ features: rows[0] });
    expect(second.json.predictions[0]).toEqual({ ...first.json.predictions[0], request_id: `pc-${n}` });
    expect(await cachedFlags("pc-")).toEqual([
      { request_id: "pc-1", cached: 0 },
      { request_id: "pc-2", cached: 1 },
    ]);
    expect(await counter("model_prediction_cache_hits_total", v1.version)).toBe(1);
    expect(await counter("model_prediction_cache_misses_total", v1.version)).toBe(1);
    const logged = await queryLogs(t.store, { model: "credit", order: "asc" });
    expect(logged.rows.map((r) => [r.requestId, r.cached])).toEqual([["pc-1", false], ["pc-2", true]]);
    expect((await queryLogs(t.store, { model: "credit", cached: true })).rows.map((r) => r.requestId)).toEqual(["pc-2"]);
  });

  it("in a batch, scores only the rows it does not hold and marks each row", async () => {
    const res = await predict({ instances: [rows[0], rows[1]] });
    expect(res.status).toBe(200);
    expect(await cachedFlags(`pc-${n}-`)).toEqual([
      { request_id: `pc-${n}-0`, cached: 1 },
      { request_id: `pc-${n}-1`, cached: 0 },
    ]);
    expect(await counter("model_prediction_cache_hits_total", v1.version)).toBe(2);
  });

  it("is emptied for a model by any traffic change of it", async () => {
    await deploy(v2.version);
    await deploy(v1.version);
    await predict({ features: rows[0] });
    expect(await cachedFlags(`pc-${n}`)).toEqual([{ request_id: `pc-${n}`, cached: 0 }]);
  });

  it("never caches a version whose graph draws at random", async () => {
    await deploy(random.version);
    const a = await predict({ features: rows[2] });
    const b = await predict({ features: rows[2] });
    expect(a.json.predictions[0].probabilities).not.toEqual(b.json.predictions[0].probabilities);
    expect(await counter("model_prediction_cache_hits_total", random.version)).toBe(0);
    expect(isDeterministic(loadArtifact(v1), v1.artifact)).toBe(true);
    expect(isDeterministic(randomOnnx(4, 2), "random.onnx")).toBe(false);
  });

  it("evicts the least recently used entry at its bound", () => {
    const cache = new PredictionCache(2);
    const p = Float32Array.of(0.3, 0.7);
    cache.set("m", "1", "a", p);
    cache.set("m", "1", "b", p);
    expect(cache.get("m", "1", "a")).toEqual(p);
    cache.set("m", "1", "c", p);
    expect([cache.get("m", "1", "a"), cache.get("m", "1", "b"), cache.get("m", "1", "c")].map(Boolean)).toEqual([true, false, true]);
    expect(cache.size).toBe(2);
  });

  it("refuses a cache size of 0 at start-up, naming the variable and how to turn the cache off", () => {
    expect(() => loadConfig({ MLWATCH_PREDICTION_CACHE_SIZE: "0" })).toThrow(/MLWATCH_PREDICTION_CACHE_SIZE: must be at least 1 entry; to turn the cache off set MLWATCH_PREDICTION_CACHE=0/);
  });
});
