import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCredit } from "../models/datasets/credit.ts";
import type { ModelVersion } from "../models/registry.ts";
import type { InferenceService } from "../inference/service.ts";
import { eventually } from "./helpers/eventually.ts";
import { requestJson, type JsonAnswer, type JsonRequest } from "./helpers/http.ts";
import { registerTrained } from "./helpers/models.ts";
import { startService } from "./helpers/service.ts";
import { LOOPBACK, tempStore, type TempStore } from "./helpers/temp-store.ts";

const TOKEN = "test-admin-token-0123456789";
let t: TempStore;
let svc: InferenceService;
let v1: ModelVersion;
let v2: ModelVersion;
let broken: ModelVersion;
const rows = generateCredit(400, 99).examples.map((e) => e.row);

/** Admin routes get the admin token unless the test names another, or none with null. */
function call(path: string, { token, ...init }: JsonRequest & { token?: string | null } = {}): Promise<JsonAnswer> {
  const auth: Record<string, string> = token !== null && path.startsWith("/v1/admin") ? { authorization: `Bearer ${token ?? TOKEN}` } : {};
  return requestJson(svc.url + path, { ...init, headers: { ...init.headers, ...auth } });
}

const admin = (route: string, body: Record<string, unknown>) => call(`/v1/admin/models/credit/${route}`, { body: { actor: "test", reason: "test", ...body } });

async function count(sql: string, params: Record<string, unknown> = {}): Promise<number> {
  const [r] = await t.store.rows<{ n: number }>(sql, params);
  return Number(r?.n ?? 0);
}

async function flushLogs(): Promise<void> {
  await svc.predictions.flush();
  await svc.labels.flush();
}

beforeAll(async () => {
  t = await tempStore({
    ...LOOPBACK,
    MLWATCH_ADMIN_TOKEN: TOKEN,
    MLWATCH_LOG_FLUSH_MS: "50",
    MLWATCH_STATE_POLL_MS: "100",
    MLWATCH_AUTO_ROLLBACK_MIN_REQUESTS: "20",
    // Hundreds of concurrent test requests queue on two cores; only the error bound is under test.
    MLWATCH_AUTO_ROLLBACK_MAX_P99_MS: "60000",
    MLWATCH_MAX_INSTANCES: "100",
    MLWATCH_MAX_BODY_BYTES: "65536",
  });
  v1 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1 });
  v2 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 2, kind: "mlp" });
  // Trained with one extra region category, registered under the real schema: it loads, then every
  // call fails on the input width, like a model exported from a different pipeline.
  const credit = generateCredit(3000, 3);
  const widened = {
    ...credit,
    schema: { ...credit.schema, features: credit.schema.features.map((f) => (f.name === "region" && f.type === "categorical" ? { ...f, categories: [...f.categories, "mars"] } : f)) },
  };
  broken = await registerTrained(t.store, t.config.modelDir, { model: "credit", data: widened, seed: 3, schemaOverride: v1.schema });
  svc = await startService(t);
  expect((await admin("deploy", { version: v1.version, role: "primary" })).status).toBe(200);
}, 120_000);

afterAll(async () => {
  await svc?.close();
  await t?.cleanup();
});

describe("predict", () => {
  it("scores one row and echoes the caller's ids", async () => {
    const res = await call("/v1/models/credit/predict", { body: { features: rows[0] }, headers: { "x-request-id": "req-one", "x-correlation-id": "corr-1" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-correlation-id")).toBe("corr-1");
    const [p] = res.json.predictions;
    expect(res.json.version).toBe(v1.version);
    expect(p.request_id).toBe("req-one");
    expect(v1.schema.classes).toContain(p.predicted);
    expect(p.probabilities.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 5);
    expect(p.confidence).toBe(Math.max(...p.probabilities));
    expect(p.feature_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("scores a batch, one answer per row, with equal rows hashing equal whatever the key order", async () => {
    const reordered = Object.fromEntries(Object.entries(rows[1]!).reverse());
    const res = await call("/v1/models/credit/predict", { body: { instances: [rows[1], reordered, rows[2]] }, headers: { "x-request-id": "batch-a" } });
    expect(res.status).toBe(200);
    const ids = res.json.predictions.map((p: { request_id: string }) => p.request_id);
    expect(ids).toEqual(["batch-a-0", "batch-a-1", "batch-a-2"]);
    expect(res.json.predictions[0].feature_hash).toBe(res.json.predictions[1].feature_hash);
    expect(res.json.predictions[0].feature_hash).not.toBe(res.json.predictions[2].feature_hash);
  });

  it("logs every answered prediction once, and a repeated request id is not double-counted", async () => {
    for (let i = 0; i < 2; i++) {
      expect((await call("/v1/models/credit/predict", { body: { features: rows[3] }, headers: { "x-request-id": "retried" } })).status).toBe(200);
    }
    await flushLogs();
    expect(await count(`SELECT count() AS n FROM ${t.store.table("predictions")} FINAL WHERE request_id = 'retried'`)).toBe(1);
    expect(await count(`SELECT count() AS n FROM ${t.store.table("predictions")} FINAL WHERE request_id IN ('req-one', 'batch-a-0', 'batch-a-1', 'batch-a-2')`)).toBe(4);
  });
});

describe("feedback", () => {
  it("joins labels to earlier predictions so accuracy is computable in SQL, and reports unknown ids", async () => {
    const batch = rows.slice(10, 60);
    const res = await call("/v1/models/credit/predict", { body: { instances: batch }, headers: { "x-request-id": "fb" } });
    const examples = generateCredit(400, 99).examples.slice(10, 60);
    const labels = examples.map((e, i) => ({ request_id: `fb-${i}`, label: v1.schema.classes[e.label]! }));
    const fb = await call("/v1/feedback", { body: { labels: [...labels, { request_id: "never-seen", label: "yes" }] } });
    expect(fb.status).toBe(200);
    expect(fb.json).toEqual({ accepted: 50, unknown: ["never-seen"], invalid: [] });
    await flushLogs();
    const expected = res.json.predictions.filter((p: { predicted: string }, i: number) => p.predicted === labels[i]!.label).length;
    const correct = await count(
      `SELECT countIf(p.predicted = l.label) AS n FROM ${t.store.table("predictions")} AS p FINAL
       INNER JOIN ${t.store.table("labels")} AS l FINAL ON p.request_id = l.request_id
       WHERE p.model = 'credit' AND p.variant != 'shadow' AND startsWith(p.request_id, 'fb-')`,
    );
    expect(correct).toBe(expected);
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`model_predictions_correct_total\\{model="credit",version="${v1.version}",environment="dev"\\} ${expected}`));
    expect(metrics).toMatch(/model_feedback_total\{outcome="unknown_request_id"\} 1/);
  });

  it("refuses a label that is not a class of the model", async () => {
    await call("/v1/models/credit/predict", { body: { features: rows[5] }, headers: { "x-request-id": "bad-label" } });
    const fb = await call("/v1/feedback", { body: { request_id: "bad-label", label: "maybe" } });
    expect(fb.status).toBe(400);
    expect(fb.json.invalid[0].reason).toMatch(/'maybe' is not a class/);
  });
});

describe("bad input", () => {
  const predict = (body: unknown, raw?: string) => call("/v1/models/credit/predict", raw ? { raw } : { body });
  const row = () => ({ ...rows[0]! });

  it.each([
    ["a missing feature", () => { const r = row(); delete (r as Record<string, unknown>).income; return { features: r }; }, 400, "instances[0].income", /missing/],
    ["an extra feature", () => ({ features: { ...row(), colour: "red" } }), 400, "instances[0].colour", /unknown feature/],
    ["a wrong type", () => ({ features: { ...row(), age: "forty" } }), 400, "instances[0].age", /must be a number/],
    ["a categorical number", () => ({ features: { ...row(), region: 3 } }), 400, "instances[0].region", /must be a string/],
    ["an empty batch", () => ({ instances: [] }), 400, "body.instances", /fewer than 1/],
    ["an oversized batch", () => ({ instances: Array.from({ length: 101 }, () => row()) }), 400, "body.instances", /more than 100/],
    ["an unknown top-level property", () => ({ features: row(), extra: 1 }), 400, "body", /unknown property 'extra'/],
    ["a non-object row", () => ({ instances: [[1, 2, 3]] }), 400, "body.instances.0", /object/],
  ])("answers %s naming the field", async (_name, make, status, field, reason) => {
    const res = await predict(make());
    expect(res.status).toBe(status);
    expect(res.json.field).toBe(field);
    expect(res.json.reason).toMatch(reason);
  });

  it("rejects Infinity (1e999 in JSON) as not finite", async () => {
    const raw = JSON.stringify({ features: row() }).replace(/"age":[^,]+/, '"age":1e999');
    const res = await predict(undefined, raw);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ field: "instances[0].age", reason: expect.stringMatching(/finite/) });
  });

  it("answers a model overflowing to NaN on extreme (in-range) inputs with a 500 naming it, and keeps serving", async () => {
    const res = await predict({ features: { ...row(), age: 3e38, income: -3e38, debt_ratio: 3e38, credit_lines: -3e38, late_payments: 3e38 } });
    expect(res.status).toBe(500);
    expect(res.json).toMatchObject({ error: "inference_failed", reason: expect.stringMatching(/non-finite probability/) });
    expect((await predict({ features: row() })).status).toBe(200);
  });

  it("answers malformed JSON, prototype-pollution keys and an oversized body with 4xx", async () => {
    const malformed = await predict(undefined, '{"features": {');
    expect(malformed.status).toBe(400);
    expect(malformed.json).toMatchObject({ field: "body", reason: expect.stringMatching(/^the body is not valid JSON: .*position \d+/) });
    const poisoned = await predict(undefined, '{"features": {"__proto__": {"admin": true}}}');
    expect(poisoned.status).toBe(400);
    expect(poisoned.json.reason).toMatch(/__proto__ .* prototype-pollution/);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    const huge = await predict({ instances: Array.from({ length: 90 }, () => ({ ...row(), pad: "x".repeat(1000) })) });
    expect(huge.status).toBe(413);
  });

  it("serves an unseen category through the unknown slot and counts it", async () => {
    const res = await predict({ features: { ...row(), region: "atlantis" } });
    expect(res.status).toBe(200);
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toMatch(/model_unknown_category_total\{model="credit",feature="region",environment="dev"\} 1/);
  });

  it("answers an unknown model with 404 and keeps serving", async () => {
    const res = await call("/v1/models/nope/predict", { body: { features: row() } });
    expect(res.status).toBe(404);
    expect(res.json.reason).toMatch(/unknown model 'nope'/);
    expect((await predict({ features: row() })).status).toBe(200);
  });

  it("counts each rejection by reason", async () => {
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    for (const reason of ["missing_feature", "unknown_feature", "wrong_type", "not_finite", "invalid_request", "body_too_large"]) {
      expect(metrics).toMatch(new RegExp(`model_prediction_errors_total\\{[^}]*reason="${reason}"[^}]*\\} [1-9]`));
    }
  });
});

describe("admin", () => {
  it("refuses a missing or wrong token", async () => {
    expect((await call("/v1/admin/models/credit/traffic", { token: null })).status).toBe(401);
    expect((await call("/v1/admin/models/credit/traffic", { token: "wrong-token-wrong-token" })).status).toBe(403);
    expect((await call("/v1/admin/models/credit/rollback", { body: { actor: "x", reason: "y" }, token: null })).status).toBe(401);
  });

  it("answers an unknown version with 404 and an invalid change with 400", async () => {
    const unknown = await admin("deploy", { version: "999", role: "primary" });
    expect(unknown.status).toBe(404);
    expect(unknown.json.reason).toMatch(/unknown version '999'/);
    const bad = await admin("deploy", { version: v2.version, role: "canary", percent: 150 });
    expect(bad.status).toBe(400);
    expect(bad.json.field).toBe("body.percent");
  });

  it("refuses a change based on a stale state (optimistic check)", async () => {
    const res = await admin("deploy", { version: v2.version, role: "shadow", percent: 100, expected_event_id: "stale" });
    expect(res.status).toBe(409);
  });
});

describe("shadow", () => {
  it("never changes or breaks the primary answer, even when the shadow model throws", async () => {
    expect((await admin("deploy", { version: broken.version, role: "shadow", percent: 100 })).status).toBe(200);
    const before = await call("/v1/models/credit/predict", { body: { features: rows[7] } });
    const res = await call("/v1/models/credit/predict", { body: { instances: rows.slice(100, 120) }, headers: { "x-request-id": "sh-broken" } });
    expect(res.status).toBe(200);
    expect(res.json.version).toBe(v1.version);
    expect(before.status).toBe(200);
    await eventually(async () => {
      const metrics = await (await fetch(`${svc.url}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`model_prediction_errors_total\\{model="credit",version="${broken.version}",reason="inference_failed",environment="dev"\\} [1-9]`));
    });

    expect((await admin("deploy", { version: v2.version, role: "shadow", percent: 100 })).status).toBe(200);
    const ok = await call("/v1/models/credit/predict", { body: { instances: rows.slice(120, 140) }, headers: { "x-request-id": "sh-ok" } });
    expect(ok.json.version).toBe(v1.version);
    await eventually(async () => {
      await flushLogs();
      const shadowRows = await count(
        `SELECT count() AS n FROM ${t.store.table("predictions")} FINAL WHERE variant = 'shadow' AND version = {v:String} AND startsWith(request_id, 'sh-ok')`,
        { v: v2.version },
      );
      expect(shadowRows).toBe(20);
    });
    expect((await admin("remove", { role: "shadow" })).status).toBe(200);
  });
});

describe("canary", () => {
  it("assigns sticky by routing key, splits near the configured share, and the split changes live", async () => {
    const deployed = await admin("deploy", { version: v2.version, role: "canary", percent: 30 });
    expect(deployed.json).toMatchObject({ state: { canary: { version: v2.version, percent: 30 } } });
    const versionFor = async (user: string) =>
      (await call("/v1/models/credit/predict", { body: { features: rows[8] }, headers: { "x-correlation-id": user } })).json.version as string;
    const first = await Promise.all(Array.from({ length: 400 }, (_, i) => versionFor(`user-${i}`)));
    const share = first.filter((v) => v === v2.version).length / first.length;
    expect(share).toBeGreaterThan(0.22);
    expect(share).toBeLessThan(0.38);
    const again = await Promise.all(Array.from({ length: 400 }, (_, i) => versionFor(`user-${i}`)));
    expect(again).toEqual(first);
    expect((await admin("split", { canary_percent: 60 })).status).toBe(200);
    const grown = await Promise.all(Array.from({ length: 400 }, (_, i) => versionFor(`user-${i}`)));
    // Growing the share only moves users onto the canary, never off it.
    first.forEach((v, i) => v === v2.version && expect(grown[i]).toBe(v2.version));
    expect(grown.filter((v) => v === v2.version).length).toBeGreaterThan(first.filter((v) => v === v2.version).length);
  });

  it("promotes and rolls back, each one audited event", async () => {
    const promoted = await admin("promote", { reason: "canary looks good", proposal_id: "p-1", approval_id: "a-1" });
    expect(promoted.json.state).toMatchObject({ primary: v2.version, previous: v1.version, canary: null });
    const back = await admin("rollback", { reason: "test rollback" });
    expect(back.json.state).toMatchObject({ primary: v1.version, previous: v2.version });
    const history = await call("/v1/admin/models/credit/deployments?limit=5");
    const [last, before] = history.json.events;
    expect(last).toMatchObject({ action: "rollback", reason: "test rollback", actor: "test" });
    expect(before).toMatchObject({ action: "promote", proposalId: "p-1", approvalId: "a-1" });
  });

  it("rolls back automatically when a canary's error rate spikes", async () => {
    expect((await admin("deploy", { version: broken.version, role: "canary", percent: 50 })).status).toBe(200);
    const answers: { status: number; variant: string }[] = [];
    for (let i = 0; i < 120 && svc.traffic.state("credit")?.canary; i++) {
      const res = await call("/v1/models/credit/predict", { body: { features: rows[i % rows.length] }, headers: { "x-correlation-id": `spike-${i}` } });
      answers.push({ status: res.status, variant: res.json.variant });
    }
    // The canary's callers were answered by the primary (MLWATCH_FALLBACK is on by default); the canary's failures still count.
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.map((a) => a.variant)).toContain("fallback");
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    // Each failure is counted once, under the version that failed.
    expect(metrics).toMatch(new RegExp(`model_prediction_errors_total\\{model="credit",version="${broken.version}",reason="inference_failed",environment="dev"\\} [1-9]`));
    expect(metrics).not.toMatch(/model_prediction_errors_total\{model="credit",version="",reason="inference_failed",environment="dev"\}/);
    await eventually(() => expect(svc.traffic.state("credit")?.canary).toBeNull());
    const history = await call("/v1/admin/models/credit/deployments?limit=1");
    expect(history.json.events[0]).toMatchObject({ action: "rollback", actor: "auto-rollback", reason: expect.stringMatching(/error rate/) });
  });
});

describe("restart and the log spool", () => {
  it("a restarted service comes back in the same traffic state", async () => {
    const before = svc.traffic.state("credit");
    await svc.close();
    svc = await startService(t);
    expect(svc.traffic.state("credit")).toEqual(before);
    expect((await call("/readyz")).status).toBe(200);
  });

  it("keeps serving while the store is unwritable, spools, then replays every row once", async () => {
    const table = t.store.table("predictions");
    await t.store.command(`RENAME TABLE ${table} TO ${table}_away`);
    try {
      for (let i = 0; i < 5; i++) {
        const res = await call("/v1/models/credit/predict", { body: { instances: rows.slice(200, 220) }, headers: { "x-request-id": `spool-${i}` } });
        expect(res.status).toBe(200);
      }
      await svc.predictions.flush();
      expect(svc.predictions.stats().storeWritable).toBe(false);
      expect((await call("/readyz")).json.log).toBe("spooling");
    } finally {
      await t.store.command(`RENAME TABLE ${table}_away TO ${table}`);
    }
    await svc.predictions.flush();
    expect(svc.predictions.stats().storeWritable).toBe(true);
    expect(await count(`SELECT count() AS n FROM ${table} FINAL WHERE startsWith(request_id, 'spool-') AND variant = 'primary'`)).toBe(100);
  });
});
