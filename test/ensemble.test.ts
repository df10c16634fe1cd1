import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectDataDrift } from "../analysis/index.ts";
import type { InferenceService } from "../inference/service.ts";
import { SessionCache } from "../inference/sessions.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import { combine, EnsembleError, type EnsembleSpec } from "../models/ensemble.ts";
import { openScorer } from "../models/explain/open-scorer.ts";
import { registerEnsemble } from "../models/register-ensemble.ts";
import { getBaseline, type ModelVersion } from "../models/registry.ts";
import { postOk, requestJson } from "./helpers/http.ts";
import { registerTrained } from "./helpers/models.ts";
import { startService } from "./helpers/service.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

const ADMIN = "ensemble-admin-token-0123456789";

describe("combining members' probabilities (pure)", () => {
  // Two rows, two classes: member A says [0.9, 0.1] and [0.4, 0.6]; member B [0.3, 0.7] and [0.2, 0.8]; member C [0.6, 0.4] twice.
  const a = Float32Array.of(0.9, 0.1, 0.4, 0.6);
  const b = Float32Array.of(0.3, 0.7, 0.2, 0.8);
  const c = Float32Array.of(0.6, 0.4, 0.6, 0.4);
  const spec = (method: EnsembleSpec["method"], weights?: number[]): EnsembleSpec => ({ method, members: [0, 1, 2].map((i) => ({ version: String(i + 1), ...(weights ? { weight: weights[i]! } : {}) })) });
  const rounded = (p: Float32Array) => Array.from(p, (x) => +x.toFixed(5));

  it("mean, weighted mean and majority vote", () => {
    expect(rounded(combine(spec("mean"), [a, b, c], 2, 2))).toEqual([0.6, 0.4, 0.4, 0.6]);
    expect(rounded(combine(spec("weighted", [2, 1, 1]), [a, b, c], 2, 2))).toEqual([0.675, 0.325, 0.4, 0.6]);
    // Row 1: A and C vote class 0, B class 1; row 2: A and B vote class 1.
    expect(rounded(combine(spec("vote"), [a, b, c], 2, 2))).toEqual([0.66667, 0.33333, 0.33333, 0.66667]);
  });
});

describe("an ensemble version (real store and onnxruntime)", () => {
  let t: TempStore;
  let svc: InferenceService;
  let v1: ModelVersion;
  let v2: ModelVersion;
  let otherFeatures: ModelVersion;
  let otherClasses: ModelVersion;
  let ensemble: ModelVersion;

  const admin = (path: string, body?: Record<string, unknown>) =>
    requestJson(`${svc.url}/v1/admin/models/credit/${path}`, { ...(body ? { body } : {}), headers: { authorization: `Bearer ${ADMIN}` } });
  const refusal = async (spec: EnsembleSpec) => {
    try {
      await registerEnsemble(t.store, t.config.modelDir, { model: "credit", spec });
    } catch (err) {
      if (err instanceof EnsembleError) return { field: err.field, reason: err.message };
      throw err;
    }
    throw new Error("not refused");
  };

  beforeAll(async () => {
    t = await tempStore({ MLWATCH_PORT: "0", MLWATCH_HOST: "127.0.0.1", MLWATCH_ADMIN_TOKEN: ADMIN });
    v1 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1, rows: 1500 });
    v2 = await registerTrained(t.store, t.config.modelDir, { model: "credit", kind: "mlp", seed: 2, rows: 1500 });
    otherFeatures = await registerTrained(t.store, t.config.modelDir, { model: "credit", dataset: { generator: "hyperplane" }, rows: 500 });
    otherClasses = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 4, rows: 500, schemaOverride: { ...v1.schema, classes: ["good", "bad"] } });
    svc = await startService(t);
  }, 180_000);

  afterAll(async () => {
    await svc?.close();
    await t?.cleanup();
  });

  it("refuses members of different features or classes, a member named twice and weights that do not fit the method, naming the field", async () => {
    expect(await refusal({ method: "mean", members: [{ version: v1.version }, { version: otherFeatures.version }] })).toEqual({
      field: "members.1.version",
      reason: expect.stringMatching(new RegExp(`version ${otherFeatures.version}'s features .* differ from version ${v1.version}'s`)),
    });
    expect(await refusal({ method: "mean", members: [{ version: v1.version }, { version: otherClasses.version }] })).toEqual({
      field: "members.1.version",
      reason: expect.stringMatching(/classes \[good, bad\] differ/),
    });
    expect((await refusal({ method: "vote", members: [{ version: v1.version }, { version: v1.version }] })).field).toBe("members.1.version");
    expect((await refusal({ method: "weighted", members: [{ version: v1.version, weight: 2 }, { version: v2.version }] })).field).toBe("members.1.weight");
    expect((await refusal({ method: "mean", members: [{ version: v1.version }, { version: "99" }] })).reason).toMatch(/unknown version '99'/);
  });

  it("refuses through the admin API with 400 and the body field", async () => {
    const res = await admin("ensembles", { method: "mean", members: [{ version: v1.version }, { version: otherClasses.version }] });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: "invalid_ensemble", field: "body.members.1.version", reason: expect.stringMatching(/classes/) });
    const one = await admin("ensembles", { method: "mean", members: [{ version: v1.version }] });
    expect(one.status).toBe(400);
    expect(one.json.field).toBe("body.members");
  });

  it("registers through the admin API as a staging version with a baseline and importances measured through the members", async () => {
    const res = await admin("ensembles", { method: "mean", members: [{ version: v1.version }, { version: v2.version }], actor: "ada" });
    expect(res.status).toBe(201);
    ensemble = res.json.version;
    expect(ensemble).toMatchObject({ kind: "ensemble", status: "staging", schema: { features: v1.schema.features, classes: v1.schema.classes } });
    expect(ensemble.artifact).toMatch(/ensemble\.json$/);
    const baseline = await getBaseline(t.store, "credit", ensemble.version);
    expect(baseline.accuracy).toBeGreaterThan(0.8);
    expect(baseline.importance?.rows).toBeGreaterThan(0);
  }, 60_000);

  it("shares its members' sessions with their own versions", async () => {
    const cache = new SessionCache(t.store);
    try {
      const [loaded, own1, own2] = await Promise.all([cache.get("credit", ensemble.version), cache.get("credit", v1.version), cache.get("credit", v2.version)]);
      expect(loaded.members).toHaveLength(2);
      expect(loaded.members![0]).toBe(own1);
      expect(loaded.members![1]).toBe(own2);
    } finally {
      await cache.close();
    }
  });

  it("rolls out as a canary and is promoted; answers the mean of its members, logged under its own version and watched for drift", async () => {
    expect((await admin("deploy", { version: v1.version, role: "primary", actor: "t", reason: "setup" })).status).toBe(200);
    expect((await admin("deploy", { version: ensemble.version, role: "canary", percent: 100, actor: "t", reason: "try the ensemble" })).status).toBe(200);
    const rows = generateCredit(200, 21).examples.map((e) => e.row);
    const answer = await postOk(`${svc.url}/v1/models/credit/predict`, { instances: rows });
    expect(answer).toMatchObject({ version: ensemble.version, variant: "canary" });
    expect((await admin("promote", { actor: "t", reason: "the ensemble held" })).json.state.primary).toBe(ensemble.version);

    const [s1, s2] = await Promise.all([openScorer(t.store, "credit", v1.version), openScorer(t.store, "credit", v2.version)]);
    try {
      const [p1, p2] = await Promise.all([s1.run(s1.encode(rows), rows.length), s2.run(s2.encode(rows), rows.length)]);
      const served = answer.predictions.flatMap((p: { probabilities: number[] }) => p.probabilities);
      served.forEach((p: number, i: number) => expect(p).toBeCloseTo((p1[i]! + p2[i]!) / 2, 5));
    } finally {
      await Promise.all([s1.release(), s2.release()]);
    }

    await svc.predictions.flush();
    const drift = await detectDataDrift(t.store, { model: "credit", version: ensemble.version, window: { lastSeconds: 3600 } });
    expect(drift.rows).toBe(200);
    expect(drift.features.length).toBe(v1.schema.features.length);
  }, 60_000);
});
