import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../config.ts";
import { queryLogs } from "../analysis/index.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import type { ModelVersion } from "../models/registry.ts";
import type { InferenceService } from "../inference/service.ts";
import { deploymentHistory } from "../store/deployments.ts";
import { eventually } from "./helpers/eventually.ts";
import { requestJson, type JsonAnswer } from "./helpers/http.ts";
import { registerTrained } from "./helpers/models.ts";
import { registerNanVersion } from "./helpers/onnx-graphs.ts";
import { metricValue } from "./helpers/prom-text.ts";
import { startService } from "./helpers/service.ts";
import { LOOPBACK, tempStore, type TempStore } from "./helpers/temp-store.ts";

// Fallback per request, against real sessions: a version whose every run fails (trained on a wider
// input than its schema feeds), one whose graph answers NaN, and injected latency past the timeout.

const MIN_REQUESTS = 8;
const ENV = {
  ...LOOPBACK,
  MLWATCH_FAULT_INJECTION: "1",
  MLWATCH_LOG_FLUSH_MS: "50",
  MLWATCH_FALLBACK_TIMEOUT_MS: "100",
  MLWATCH_AUTO_ROLLBACK_MIN_REQUESTS: String(MIN_REQUESTS),
  MLWATCH_AUTO_ROLLBACK_MAX_P99_MS: "60000",
};

let t: TempStore;
let svc: InferenceService;
let v1: ModelVersion;
let v2: ModelVersion;
let broken: ModelVersion;
let nan: ModelVersion;
const rows = generateCredit(50, 77).examples.map((e) => e.row);
let n = 0;

const predict = (body: unknown = { features: rows[n % rows.length] }): Promise<JsonAnswer> =>
  requestJson(`${svc.url}/v1/models/credit/predict`, { body, headers: { "x-request-id": `fb-${++n}` } });
const deploy = (version: string, role: "primary" | "canary" = "primary") =>
  svc.traffic.change({ model: "credit", change: { action: "deploy", role, version, ...(role === "canary" ? { percent: 100 } : {}) }, actor: "test", reason: "setup" });
const metrics = async () => (await fetch(`${svc.url}/metrics`)).text();

async function logged(requestId: string) {
  await svc.predictions.flush();
  return t.store.rows<{ version: string; variant: string; fallback: string; failed: number; job_id: string }>(
    `SELECT version, variant, fallback, error != '' AS failed, job_id FROM ${t.store.table("predictions")} WHERE request_id = {id:String} ORDER BY variant DESC`,
    { id: requestId },
  );
}

beforeAll(async () => {
  t = await tempStore(ENV);
  v1 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1, rows: 800 });
  // Trained with an extra region category, registered under v1's schema: it loads, every run fails.
  const credit = generateCredit(800, 3);
  const widened = {
    ...credit,
    schema: { ...credit.schema, features: credit.schema.features.map((f) => (f.name === "region" && f.type === "categorical" ? { ...f, categories: [...f.categories, "mars"] } : f)) },
  };
  broken = await registerTrained(t.store, t.config.modelDir, { model: "credit", data: widened, seed: 3, schemaOverride: v1.schema });
  nan = await registerNanVersion(t.store, t.config.modelDir);
  v2 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 2, rows: 800 });
  svc = await startService(t);
}, 120_000);

afterAll(async () => {
  await svc?.close();
  await t?.cleanup();
});

describe("fallback per request", () => {
  it("answers a failing first primary with a 500: there is no previous primary to fall back to", async () => {
    await deploy(broken.version);
    const res = await predict();
    expect(res.status).toBe(500);
    expect(res.json).toMatchObject({ error: "inference_failed" });
  });

  it("answers from the previous primary when the primary's session fails, and says so in the answer, the log and the metrics", async () => {
    await deploy(v1.version);
    // It served before it was replaced, as a previous primary has: its session is loaded.
    expect((await predict()).json).toMatchObject({ version: v1.version, variant: "primary" });
    await deploy(broken.version);
    const res = await predict();
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ version: v1.version, variant: "fallback", fallback: { version: broken.version, reason: "inference_failed" } });
    expect(v1.schema.classes).toContain(res.json.predictions[0].predicted);
    expect(await logged(`fb-${n}`)).toEqual([
      { version: broken.version, variant: "primary", fallback: "", failed: 1, job_id: "" },
      { version: v1.version, variant: "fallback", fallback: "inference_failed", failed: 0, job_id: "" },
    ]);
    expect(metricValue(await metrics(), "model_prediction_fallbacks_total", { version: broken.version, reason: "inference_failed" })).toBe(1);
    // The prediction log a person or the agent reads says so too, and can be filtered and grouped by it.
    const page = await queryLogs(t.store, { model: "credit", requestId: `fb-${n}` });
    expect(page.rows.map((r) => [r.variant, r.version, r.fallback, r.error === null])).toEqual(
      expect.arrayContaining([["primary", broken.version, null, false], ["fallback", v1.version, "inference_failed", true]]),
    );
    expect((await queryLogs(t.store, { model: "credit", hasFallback: true })).rows.map((r) => r.requestId)).toEqual([`fb-${n}`]);
    expect((await queryLogs(t.store, { model: "credit", variant: "fallback" })).rows.map((r) => r.requestId)).toEqual([`fb-${n}`]);
    expect((await queryLogs(t.store, { model: "credit", groupBy: "fallback" })).groups).toEqual(expect.arrayContaining([{ key: "inference_failed", rows: 1 }]));
  });

  it("counts the fallbacks as failures of the version that fell: the guard rolls it back", async () => {
    for (let i = 1; i < MIN_REQUESTS; i++) expect((await predict()).status).toBe(200);
    await eventually(() => expect(svc.traffic.state("credit")?.primary).toBe(v1.version));
    const [last] = await deploymentHistory(t.store, "credit", 1);
    expect(last).toMatchObject({ action: "rollback", actor: "auto-rollback", reason: expect.stringContaining(`version ${broken.version}`) });
    expect((await predict()).json).toMatchObject({ version: v1.version, variant: "primary" });
  });

  it("falls back on a non-finite output, naming non_finite_output", async () => {
    await deploy(nan.version);
    const res = await predict();
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ version: v1.version, variant: "fallback", fallback: { version: nan.version, reason: "non_finite_output" } });
    expect((await logged(`fb-${n}`))[1]).toMatchObject({ fallback: "non_finite_output" });
  });

  it("answers a failing canary from the primary", async () => {
    await deploy(v1.version);
    await deploy(broken.version, "canary");
    const res = await predict();
    expect(res.json).toMatchObject({ version: v1.version, variant: "fallback", fallback: { version: broken.version, reason: "inference_failed" } });
    await svc.traffic.change({ model: "credit", change: { action: "remove", role: "canary" }, actor: "test", reason: "cleanup" });
  });

  it("falls back when the routed version takes longer than MLWATCH_FALLBACK_TIMEOUT_MS", async () => {
    // The injected delay applies to the model, so the fallback (v2) is slow too, but has no timeout and answers.
    const admin = (body: unknown) => requestJson(`${svc.url}/v1/admin/models/credit/faults`, { method: "PUT", body });
    await deploy(v2.version);
    expect((await predict()).json).toMatchObject({ version: v2.version });
    await deploy(v1.version);
    expect((await admin({ extraLatencyMs: 400, latencyFraction: 1, errorFraction: 0 })).status).toBe(200);
    try {
      const res = await predict();
      expect(res.json).toMatchObject({ version: v2.version, variant: "fallback", fallback: { version: v1.version, reason: "timeout" } });
    } finally {
      await admin({ extraLatencyMs: 0, latencyFraction: 0, errorFraction: 0 });
    }
  });

  it("does not fall back for a caller's mistake: a missing feature is a 400 of the routed version", async () => {
    const { age: _, ...withoutAge } = rows[0]!;
    const res = await predict({ features: withoutAge });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ field: "instances[0].age" });
  });

  it("is off with MLWATCH_FALLBACK=0: the failing primary's request is a 500", async () => {
    await svc.close();
    svc = await startService({ ...t, config: loadConfig({ ...ENV, MLWATCH_DATA_DIR: t.dir, MLWATCH_FALLBACK: "0" }) });
    await deploy(broken.version);
    const res = await predict();
    expect(res.status).toBe(500);
    expect(res.json).toMatchObject({ error: "inference_failed" });
  });

  it("refuses a malformed MLWATCH_FALLBACK at start-up, naming it", () => {
    expect(() => loadConfig({ MLWATCH_FALLBACK: "yes" })).toThrow(ConfigError);
    expect(() => loadConfig({ MLWATCH_FALLBACK: "yes" })).toThrow(/MLWATCH_FALLBACK:/);
    expect(() => loadConfig({ MLWATCH_FALLBACK_TIMEOUT_MS: "0" })).toThrow(/MLWATCH_FALLBACK_TIMEOUT_MS:/);
  });
});
