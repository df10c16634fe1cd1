import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getBaseline, getVersion, listModels, listVersions, loadArtifact, registerVersion, RegistryError, setStatus, sha256 } from "../models/registry.ts";
import { deploymentHistory } from "../store/deployments.ts";
import { registerTrained } from "./helpers/models.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import { trainModel } from "../models/train.ts";

let t: TempStore;
beforeAll(async () => {
  t = await tempStore();
});
afterAll(async () => t?.cleanup());

describe("registry", () => {
  it("numbers versions, keeps metadata and baselines, and audits the registration", async () => {
    const a = await registerTrained(t.store, t.config.modelDir, { model: "reg", seed: 1 });
    const b = await registerTrained(t.store, t.config.modelDir, { model: "reg", seed: 2, kind: "mlp" });
    expect([a.version, b.version]).toEqual(["1", "2"]);
    expect(b).toMatchObject({ model: "reg", kind: "mlp", status: "staging" });
    expect(b.sha256).toBe(sha256(fs.readFileSync(b.artifact)));
    expect(typeof b.metrics.accuracy).toBe("number");
    expect((await listVersions(t.store, "reg")).map((v) => v.version)).toEqual(["1", "2"]);
    const baseline = await getBaseline(t.store, "reg", "2");
    expect(baseline.features.map((f) => f.name)).toEqual(b.schema.features.map((f) => f.name));
    const [overview] = await listModels(t.store);
    expect(overview).toMatchObject({ model: "reg", versions: 2, latest: "2" });
    const history = await deploymentHistory(t.store, "reg");
    expect(history.filter((e) => e.action === "register").map((e) => e.version).sort()).toEqual(["1", "2"]);
  });

  it("tracks lifecycle status as a newer row", async () => {
    await setStatus(t.store, "reg", "1", "production");
    expect((await getVersion(t.store, "reg", "1")).status).toBe("production");
    const [overview] = await listModels(t.store);
    expect(overview?.production).toBe("1");
  });

  it("refuses an artifact whose sha256 changed, and a missing one, naming model, version and path", async () => {
    const v = await getVersion(t.store, "reg", "1");
    expect(loadArtifact(v).length).toBeGreaterThan(0);
    const original = fs.readFileSync(v.artifact);
    fs.writeFileSync(v.artifact, Buffer.concat([original, Buffer.from([0])]));
    expect(() => loadArtifact(v)).toThrow(new RegExp(`model 'reg' version 1: sha256 mismatch at ${v.artifact}.*refusing to load`));
    fs.rmSync(v.artifact);
    expect(() => loadArtifact(v)).toThrow(/artifact missing at/);
    fs.writeFileSync(v.artifact, original);
    expect(() => loadArtifact(v)).not.toThrow();
  });

  it("names unknown models and versions", async () => {
    await expect(getVersion(t.store, "nope", "1")).rejects.toThrow(new RegistryError("unknown model 'nope'"));
    await expect(getVersion(t.store, "reg", "9")).rejects.toThrow("unknown version '9' of model 'reg' (known: 1, 2)");
  });

  it("registers nothing when the baseline does not match the schema", async () => {
    const trained = trainModel({ dataset: generateCredit(2000, 5), kind: "logistic", seed: 5 });
    const input = { model: "reg", kind: "logistic", onnx: trained.onnx, schema: trained.schema, metrics: trained.metrics, trainingData: trained.trainingData };
    const baseline = { ...trained.baseline, features: trained.baseline.features.slice(1) };
    await expect(registerVersion(t.store, t.config.modelDir, { ...input, baseline })).rejects.toThrow(/baseline features .* do not match the schema/);
    await expect(registerVersion(t.store, t.config.modelDir, { ...input, baseline: trained.baseline, model: "Bad Name" })).rejects.toThrow(/lowercase/);
    expect((await listVersions(t.store, "reg")).length).toBe(2);
  });
});
