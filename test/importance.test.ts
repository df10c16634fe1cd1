import fs from "node:fs";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importModel } from "../models/import/import.ts";
import { IMPORTANCE_REPEATS } from "../models/importance.ts";
import { getBaseline, registerVersion, type ModelVersion } from "../models/registry.ts";
import { Rng } from "../models/rng.ts";
import type { Dataset, Row } from "../models/schema.ts";
import { trainModel } from "../models/train.ts";
import { startReadOnlyMcp, toolCalls } from "./helpers/mcp-stack.ts";
import { registerTrained } from "./helpers/models.ts";
import { churnData, churnLogit, sklearnPipeline, writeCsv } from "./helpers/onnx-conventions.ts";
import { labelNames, seedPredictions } from "./helpers/seed-store.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

const HOUR = 3600e6;
const nowUs = Date.now() * 1000;
const window = { fromUs: nowUs - HOUR, toUs: nowUs };
let t: TempStore;
let app: FastifyInstance;
let client: Client;
let native: ModelVersion;
let unknown: ModelVersion;
let imported: ModelVersion;

/** The label is the sign of `signal` (plus a little noise); `noise` and `colour` have nothing to do with it. */
function signalData(n: number, seed: number, noiseShift = 0): Dataset {
  const rng = new Rng(seed);
  const colours = ["red", "green", "blue"];
  const examples = Array.from({ length: n }, () => {
    const signal = rng.normal();
    const row: Row = { signal, noise: rng.normal() + noiseShift, colour: colours[rng.int(3)]! };
    return { row, label: signal + 0.3 * rng.normal() > 0 ? 1 : 0 };
  });
  return {
    name: "signal and noise",
    schema: { features: [{ name: "signal", type: "numeric" }, { name: "noise", type: "numeric" }, { name: "colour", type: "categorical", categories: colours }], classes: ["no", "yes"], label: "y" },
    examples,
  };
}

const { ok, refused } = toolCalls(() => client);

beforeAll(async () => {
  t = await tempStore();
  native = await registerTrained(t.store, t.config.modelDir, { model: "signal", data: signalData(3000, 1) });
  // Without examples there is nothing to permute: the version stands for one registered before importance was kept.
  unknown = await registerTrained(t.store, t.config.modelDir, { model: "legacy", data: signalData(3000, 1), keepReference: false });
  // A scikit-learn pipeline graph that uses calls, with reference labels drawn without it: the
  // model leans on calls, yet shuffling calls costs no accuracy, since the labels never depended on it.
  const churn = churnData(2000, 3);
  const rng = new Rng(4);
  const labels = churn.rows.map((row) => (rng.next() < 1 / (1 + Math.exp(-(churnLogit(row) - 0.5 * Number(row.calls) + 0.75))) ? "yes" : "no"));
  const reference = path.join(t.dir, "churn.csv");
  writeCsv(reference, { rows: churn.rows, labels });
  const onnxFile = path.join(t.dir, "churn.onnx");
  fs.writeFileSync(onnxFile, sklearnPipeline());
  imported = (await importModel(t.store, t.config.modelDir, { model: "churn", file: onnxFile, reference, label: "churned" })).version;

  // Traffic on which the noise feature moved by two standard deviations.
  const drifted = signalData(1500, 9, 2);
  for (const v of [native, unknown]) {
    await seedPredictions(t.store, { model: v.model, version: v.version, schema: v.schema, rows: drifted.examples.map((e) => e.row), labels: labelNames(drifted), startUs: window.fromUs, stepUs: HOUR / 3000, requestIdPrefix: `${v.model}-` });
  }
  ({ app, client } = await startReadOnlyMcp(t));
}, 180_000);

afterAll(async () => {
  await client?.close();
  await app?.close();
  await t?.cleanup();
});

describe("permutation importance at registration", () => {
  it("is stored for a native model: large for the feature the label depends on, negligible for the noise", async () => {
    const b = await getBaseline(t.store, native.model, native.version);
    expect(b.importance).toMatchObject({ metric: "accuracy", rows: 3000, repeats: IMPORTANCE_REPEATS });
    const [signal, noise, colour] = b.features.map((f) => f.importance!);
    expect(signal!.accuracyDrop).toBeGreaterThan(0.3);
    expect(signal!.standardError).toBeGreaterThan(0);
    for (const f of [noise!, colour!]) expect(Math.abs(f.accuracyDrop)).toBeLessThan(0.005);
  });

  it("is stored for an imported graph, through its own io mapping", async () => {
    const b = await getBaseline(t.store, imported.model, imported.version);
    const by = new Map(b.features.map((f) => [f.name, f.importance!]));
    expect(by.get("tenure")!.accuracyDrop).toBeGreaterThan(0.1);
    expect(by.get("tenure")!.accuracyDrop).toBeGreaterThan(by.get("calls")!.accuracyDrop + 10 * by.get("tenure")!.standardError);
    expect(Math.abs(by.get("calls")!.accuracyDrop)).toBeLessThan(0.02);
  });

  it("refuses, registering nothing, a model that cannot score its own reference examples", async () => {
    const data = signalData(600, 2);
    const trained = trainModel({ dataset: data, kind: "logistic", seed: 1 });
    // One more category than the graph was exported for: the encoded rows are one slot too wide.
    const schema = { ...trained.schema, features: trained.schema.features.map((f) => (f.type === "categorical" ? { ...f, categories: [...f.categories, "violet"] } : f)) };
    const baseline = { ...trained.baseline, features: trained.baseline.features.map((f) => (f.type === "categorical" ? { ...f, categories: [...f.categories, "violet"], counts: [...f.counts, 0] } : f)) };
    const input = { model: "misfit", kind: "logistic", onnx: trained.onnx, schema, metrics: trained.metrics, trainingData: trained.trainingData, baseline, reference: data.examples };
    await expect(registerVersion(t.store, t.config.modelDir, input)).rejects.toThrow(/^the model cannot score its reference examples under its schema \(.*dimensions.*\); nothing was registered$/);
    await expect(getBaseline(t.store, "misfit", "1")).rejects.toThrow(/no baseline/);
  });

  it("is absent, not invented, for a version registered without reference examples", async () => {
    const b = await getBaseline(t.store, unknown.model, unknown.version);
    expect(b.importance).toBeUndefined();
    expect(b.features.every((f) => f.importance === undefined)).toBe(true);
  });
});

describe("importance in the read tools, through a real MCP client", () => {
  it("detect_data_drift gives each feature its importance and rank beside its drift", async () => {
    const { data, summary } = await ok("detect_data_drift", { model: "signal", window });
    expect(data.importanceRun).toMatchObject({ metric: "accuracy", repeats: IMPORTANCE_REPEATS, rows: 3000 });
    const by = new Map<string, any>(data.features.map((f: any) => [f.feature, f]));
    expect(by.get("noise").drifted).toBe(true);
    expect(by.get("signal").importance).toMatchObject({ rank: 1, of: 3 });
    expect(by.get("noise").importance.rank).toBeGreaterThan(1);
    expect(by.get("noise").importance.accuracyDrop).toBeLessThan(by.get("signal").importance.accuracyDrop);
    expect(summary).toMatch(/noise \(PSI [^)]*importance -?0\.\d pt ± \d\.\d, rank [23] of 3\)/);
  });

  it("get_feature_distribution gives the feature's importance and rank", async () => {
    const { data, summary } = await ok("get_feature_distribution", { model: "signal", feature: "signal", window });
    expect(data.importance).toMatchObject({ rank: 1, of: 3 });
    expect(data.importance.accuracyDrop).toBeGreaterThan(0.3);
    expect(data.importanceRun.description).toMatch(/permutation importance/);
    expect(summary).toMatch(/signal \(numeric, importance \d+\.\d pt ± \d\.\d, rank 1 of 3\)/);
  });

  it("says importance is unknown for a version without it, and still answers", async () => {
    const drift = await ok("detect_data_drift", { model: "legacy", window });
    expect(drift.data.importanceRun).toBeNull();
    expect(drift.data.features.every((f: any) => f.importance === null)).toBe(true);
    expect(drift.data.notes.join(" ")).toMatch(/importance unknown: version 1/);
    expect(drift.summary).toMatch(/importance unknown/);
    const dist = await ok("get_feature_distribution", { model: "legacy", feature: "noise", window });
    expect(dist.data.importance).toBeNull();
    expect(dist.data.notes.join(" ")).toMatch(/importance unknown/);
  });
});

describe("detect_data_drift's method", () => {
  it("says per feature that the default selector chose the method when none is asked for", async () => {
    const { data } = await ok("detect_data_drift", { model: "signal", window });
    expect(data.requestedMethod).toBeNull();
    for (const f of data.features) expect(f).toMatchObject({ methodChosenBy: "default selector", method: f.defaultMethod });
    expect(data.features.find((f: any) => f.feature === "colour").method).toBe("jensenshannon");
  });

  it("uses the requested method for every feature and still names the selector's choice", async () => {
    const { data } = await ok("detect_data_drift", { model: "signal", window, method: "psi" });
    expect(data.requestedMethod).toBe("psi");
    for (const f of data.features) expect(f).toMatchObject({ method: "psi", methodChosenBy: "requested" });
    expect(data.features.find((f: any) => f.feature === "signal").defaultMethod).toBe("wasserstein");
    expect(data.features.find((f: any) => f.feature === "noise").drifted).toBe(true);
  });

  it("refuses a method that does not fit a feature's type, naming the feature and why", async () => {
    expect(await refused("detect_data_drift", { model: "signal", window, method: "ks" })).toBe("method: ks applies to numeric features only; feature 'colour' is categorical (for categorical features use chisquare, psi, jensenshannon)");
  });

  it("refuses an unknown method before anything runs", async () => {
    expect(await refused("detect_data_drift", { model: "signal", window, method: "anderson" })).toMatch(/method/);
  });

  it("refuses every numeric-only method on a model with a categorical feature, naming the method and the feature, instead of falling back", async () => {
    for (const method of ["ks", "wasserstein"]) {
      const text = await refused("detect_data_drift", { model: "signal", window, method });
      expect(text).toMatch(new RegExp(`^method: ${method} applies to numeric features only; feature 'colour' is categorical`));
      expect(text).not.toMatch(/signal|noise/);
    }
  });

  it("refuses the other drift options with the messages their one definition gives, naming the field", async () => {
    expect(await refused("detect_data_drift", { model: "signal", window, method: "anderson" })).toMatch(/method: unknown drift method 'anderson' \(known: ks, chisquare, psi, wasserstein, jensenshannon\)/);
    expect(await refused("detect_data_drift", { model: "signal", window, correction: "holm" })).toMatch(/correction: unknown correction 'holm' \(known: none, bonferroni, benjamini-hochberg\)/);
    expect(await refused("detect_data_drift", { model: "signal", window, shareThreshold: 2 })).toMatch(/shareThreshold: must be in \[0, 1\], got 2/);
  });
});
