import type { FastifyInstance } from "fastify";
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCredit } from "../models/datasets/credit.ts";
import type { ModelVersion } from "../models/registry.ts";
import type { Row } from "../models/schema.ts";
import { startReadOnlyMcp, toolCalls } from "./helpers/mcp-stack.ts";
import { registerTrained } from "./helpers/models.ts";
import { labelNames, seedPredictions, type SeededPredictions } from "./helpers/seed-store.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

const HOUR = 3600e6;
const nowUs = Date.now() * 1000;
const referenceWindow = { fromUs: nowUs - 2 * HOUR, toUs: nowUs - HOUR };
const currentWindow = { fromUs: nowUs - HOUR, toUs: nowUs };
let t: TempStore;
let app: FastifyInstance;
let client: Client;
let current: SeededPredictions;

const { ok, refused } = toolCalls(() => client);

/** Reference traffic as trained on; in the current window half the east region's labels flipped. */
async function seed(model: string, v: ModelVersion, logFeatures: "raw" | "hash"): Promise<SeededPredictions> {
  const ref = generateCredit(2000, 21);
  const cur = generateCredit(2000, 22);
  const curRows = cur.examples.map((e) => e.row);
  const flipped = labelNames(cur).map((l, i) => (curRows[i]!.region === "east" && i % 2 === 0 ? (l === "yes" ? "no" : "yes") : l));
  const common = { model, version: v.version, schema: v.schema, stepUs: HOUR / 2000, logFeatures };
  await seedPredictions(t.store, { ...common, rows: ref.examples.map((e) => e.row), labels: labelNames(ref), startUs: referenceWindow.fromUs, requestIdPrefix: `${model}-ref-` });
  return seedPredictions(t.store, { ...common, rows: curRows, labels: flipped, startUs: currentWindow.fromUs, requestIdPrefix: `${model}-cur-` });
}

beforeAll(async () => {
  t = await tempStore();
  current = await seed("credit", await registerTrained(t.store, t.config.modelDir, { model: "credit" }), "raw");
  await seed("private", await registerTrained(t.store, t.config.modelDir, { model: "private" }), "hash");
  ({ app, client } = await startReadOnlyMcp(t));
}, 180_000);

afterAll(async () => {
  await client?.close();
  await app?.close();
  await t?.cleanup();
});

it("lists the three tools as read-only, with output schemas", async () => {
  const { tools } = await client.listTools();
  for (const name of ["find_failing_segments", "get_segment_performance", "explain_prediction"]) {
    const tool = tools.find((x) => x.name === name)!;
    expect(tool, name).toBeDefined();
    expect(tool.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    expect(tool.outputSchema).toBeDefined();
  }
});

describe("find_failing_segments", () => {
  it("names the segment whose error rate rose, and says the failure is confined to it", async () => {
    const { data, summary } = await ok("find_failing_segments", { model: "credit", window: currentWindow });
    expect(data.segments[0]).toMatchObject({ feature: "region", label: "region = east", significant: true });
    expect(data.reference).toMatchObject({ kind: "window", window: { fromUs: referenceWindow.fromUs, toUs: referenceWindow.toUs } });
    expect(data.outsideTop).toMatchObject({ excluding: "region = east", significantSegments: 0 });
    expect(summary).toMatch(/Error rate rose most in: region = east/);
    expect(summary).toMatch(/confined to it/);
  });

  it("works on a model logged as hashes only, and answers an empty window with an empty result", async () => {
    expect((await ok("find_failing_segments", { model: "private", window: currentWindow })).data.segments[0].label).toBe("region = east");
    const empty = await ok("find_failing_segments", { model: "credit", window: { fromUs: 1e15, toUs: 1e15 + HOUR } });
    expect(empty.data.segments).toEqual([]);
    expect(empty.summary).toMatch(/no labelled predictions/);
  });

  it("refuses an unknown feature or model naming what to use", async () => {
    expect(await refused("find_failing_segments", { model: "credit", features: ["zip"] })).toMatch(/unknown feature 'zip'.*known features: age, income/);
    expect(await refused("find_failing_segments", { model: "nope" })).toMatch(/unknown model 'nope'/);
    expect(await refused("find_failing_segments", { model: "credit", numericSegments: 50 })).toMatch(/numericSegments/);
  });
});

describe("get_segment_performance", () => {
  it("gives accuracy and positive rate per category with intervals", async () => {
    const { data, summary } = await ok("get_segment_performance", { model: "credit", feature: "region", window: currentWindow });
    expect(data.positiveClass).toBe("yes");
    const east = data.segments.find((s: { value?: string }) => s.value === "east");
    expect(east.accuracy.interval.upper).toBeLessThan(data.overall.accuracy.rate);
    expect(data.overall.answered).toBe(current.answered);
    expect(summary).toMatch(/region = east: accuracy/);
  });

  it("refuses an unknown feature or class", async () => {
    expect(await refused("get_segment_performance", { model: "credit", feature: "zip" })).toMatch(/unknown feature 'zip'/);
    expect(await refused("get_segment_performance", { model: "credit", feature: "region", positiveClass: "maybe" })).toMatch(/classes: no, yes/);
  });
});

describe("explain_prediction", () => {
  it("explains a logged request id from the features in the log, additively", async () => {
    const i = current.requestIds.findIndex((_, k) => current.predicted[k] !== null);
    const { data, summary } = await ok("explain_prediction", { model: "credit", requestId: current.requestIds[i]! });
    expect(data.source).toMatchObject({ kind: "logged", requestId: current.requestIds[i], loggedPredicted: current.predicted[i] });
    expect(data.predicted).toBe(current.predicted[i]);
    expect(data.method.name).toBe("exact-linear");
    expect(data.background.source).toBe("baseline-marginals");
    const row = current.rows[i]!;
    for (const a of data.attributions) expect(a.value).toEqual(row[a.feature] ?? null);
    const total = data.attributions.reduce((s: number, a: { attribution: number }) => s + a.attribution, 0);
    expect(data.value - data.expectedValue - total).toBeCloseTo(0, 4);
    expect(summary).toMatch(/Largest contributions: /);
  });

  it("explains a posted row on the probability scale by sampling", async () => {
    const row: Row = current.rows[0]!;
    const { data } = await ok("explain_prediction", { model: "credit", features: row, output: "probability", permutations: 400 });
    expect(data).toMatchObject({ source: { kind: "posted" }, output: { space: "probability" }, method: { name: "permutation-sampling", permutations: 400 } });
    expect(Math.abs(data.additivityGap)).toBeLessThan(1e-6);
  });

  it("refuses an unknown feature, an unlogged request id, a hash-only row and a call giving both or neither", async () => {
    expect(await refused("explain_prediction", { model: "credit", features: { ...current.rows[0], zip: "1" } })).toMatch(/features\.zip: unknown feature/);
    expect(await refused("explain_prediction", { model: "credit", requestId: "never-logged" })).toMatch(/requestId: no prediction of model 'credit' was logged with request id 'never-logged'/);
    expect(await refused("explain_prediction", { model: "private", requestId: "private-cur-0" })).toMatch(/MLWATCH_LOG_FEATURES=hash.*post its features/);
    expect(await refused("explain_prediction", { model: "credit" })).toMatch(/exactly one of requestId/);
    expect(await refused("explain_prediction", { model: "credit", requestId: "credit-cur-0", features: current.rows[0] })).toMatch(/exactly one of requestId/);
    expect(await refused("explain_prediction", { model: "nope", requestId: "x" })).toMatch(/unknown model 'nope'/);
  });
});
