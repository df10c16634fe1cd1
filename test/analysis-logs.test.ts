import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryLogs, type LogFilters, type LogRow } from "../analysis/index.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import { seedDriftScenario, seedPredictions, tsPredictor, type DriftScenario, type SeededPredictions } from "./helpers/seed-store.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

let t: TempStore;
let sc: DriftScenario;
let hashed: { fromUs: number; toUs: number };
let hashedSeed: SeededPredictions;

beforeAll(async () => {
  t = await tempStore();
  sc = await seedDriftScenario(t.store, t.config.modelDir);
  hashed = { fromUs: sc.windows.baseline.fromUs - 3 * 3600e6, toUs: sc.windows.baseline.fromUs - 2 * 3600e6 };
  // No predict given: scored by the registered ONNX artifact, as serving would.
  hashedSeed = await seedPredictions(t.store, {
    model: sc.model,
    version: sc.v1.version,
    schema: sc.v1.schema,
    rows: generateCredit(50, 401).examples.map((e) => e.row),
    startUs: hashed.fromUs,
    stepUs: 1e6,
    requestIdPrefix: "hashed-",
    logFeatures: "hash",
  });
}, 120_000);

afterAll(async () => {
  await t?.cleanup();
});

const drifted = () => sc.seeded.drifted;
const all = (filters: Omit<LogFilters, "model" | "limit">) => queryLogs(t.store, { model: sc.model, limit: 5000, ...filters });
const count = (xs: readonly unknown[], keep: (i: number) => boolean) => xs.filter((_, i) => keep(i)).length;
const v1Drifted = { window: () => sc.windows.drifted, version: "1" };

describe("queryLogs filters", () => {
  it("filters by version and variant", async () => {
    const shadow = await all({ window: sc.windows.drifted, version: sc.v2.version });
    expect(shadow.returned).toBe(3000);
    expect(shadow.rows.every((r) => r.version === "2" && r.variant === "shadow")).toBe(true);
    const primary = await all({ window: sc.windows.drifted, variant: "primary" });
    expect(primary.returned).toBe(3000);
    expect(primary.rows.every((r) => r.version === "1")).toBe(true);
    expect(primary.truncated).toBe(false);
    expect(primary.nextCursor).toBeNull();
  });

  it("filters by predicted class, label, label presence and correctness", async () => {
    const d = drifted();
    const w = { window: v1Drifted.window(), version: v1Drifted.version };
    expect((await all({ ...w, predicted: "yes" })).returned).toBe(count(d.predicted, (i) => d.predicted[i] === "yes"));
    expect((await all({ ...w, label: "yes" })).returned).toBe(count(d.labels, (i) => d.labels[i] === "yes"));
    expect((await all({ ...w, hasLabel: true })).returned).toBe(3000);
    expect((await all({ ...w, hasLabel: false })).returned).toBe(0);
    const wrong = await all({ ...w, correct: false });
    expect(wrong.returned).toBe(d.labelled - d.correct);
    expect(wrong.rows.every((r) => r.correct === false && r.label !== r.predicted)).toBe(true);
    expect((await all({ ...w, correct: true })).returned).toBe(d.correct);
  });

  it("filters by a confidence range", async () => {
    const d = drifted();
    const r = await all({ window: sc.windows.drifted, version: "1", minConfidence: 0.6, maxConfidence: 0.9 });
    expect(r.returned).toBe(count(d.confidence, (i) => d.confidence[i]! >= 0.6 && d.confidence[i]! <= 0.9));
    expect(r.returned).toBeGreaterThan(0);
    expect(r.rows.every((x) => x.confidence! >= 0.6 && x.confidence! <= 0.9)).toBe(true);
  });

  it("filters by error presence and reason", async () => {
    const errors = await all({ window: sc.windows.baseline, hasError: true });
    expect(errors.returned).toBe(sc.seeded.baseline.errors);
    expect(errors.rows.every((r) => r.error?.startsWith("inference_failed") && r.predicted === null)).toBe(true);
    expect((await all({ window: sc.windows.baseline, errorReason: "inference_failed" })).returned).toBe(30);
    expect((await all({ window: sc.windows.baseline, hasError: false })).returned).toBe(2970);
  });

  it("filters by request id", async () => {
    const r = await all({ window: sc.windows.drifted, requestId: "drift-7" });
    expect(r.rows.map((x) => `${x.version}/${x.variant}`).sort()).toEqual(["1/primary", "2/shadow"]);
  });

  it("filters by features: numeric comparisons, categorical equality, missing values", async () => {
    const rows = drifted().rows;
    const w = { window: sc.windows.drifted, version: "1" };
    const income = (i: number) => rows[i]!.income as number | null;
    const gt = await all({ ...w, features: [{ feature: "income", op: "gt", value: 100_000 }] });
    expect(gt.returned).toBe(count(rows, (i) => income(i) !== null && income(i)! > 100_000));
    expect(gt.rows.every((r) => (r.features!.income as number) > 100_000)).toBe(true);
    const lte = await all({ ...w, features: [{ feature: "income", op: "lte", value: 50_000 }] });
    expect(lte.returned).toBe(count(rows, (i) => income(i) !== null && income(i)! <= 50_000));
    const both = await all({
      ...w,
      features: [
        { feature: "region", op: "eq", value: "east" },
        { feature: "loan_purpose", op: "neq", value: "car" },
      ],
    });
    expect(both.returned).toBe(count(rows, (i) => rows[i]!.region === "east" && rows[i]!.loan_purpose !== "car"));
    const missing = await all({ ...w, features: [{ feature: "income", op: "eq", value: null }] });
    expect(missing.returned).toBe(count(rows, (i) => income(i) === null));
    expect(missing.rows.every((r) => r.features!.income === null)).toBe(true);
  });

  it("returns features by name, probabilities by class and the label", async () => {
    const d = drifted();
    const r = await all({ window: sc.windows.drifted, requestId: d.requestIds[11]!, variant: "primary" });
    const row = r.rows[0]!;
    expect(row.features).toEqual(d.rows[11]);
    expect(Object.keys(row.probabilities)).toEqual(sc.v1.schema.classes);
    expect(row.label).toBe(d.labels[11]);
    expect(row.predicted).toBe(d.predicted[11]);
    expect(row.confidence).toBe(d.confidence[11]);
  });

  it("gives null features for rows logged without raw values", async () => {
    const r = await all({ window: hashed });
    expect(r.returned).toBe(50);
    expect(r.rows.every((x) => x.features === null)).toBe(true);
    expect(r.notes.join(" ")).toMatch(/without raw feature values/);
  });

  it("(seed helper) scores with the registered ONNX artifact when no predict is given, agreeing with the TS model", async () => {
    const ts = tsPredictor(sc.trained.v1.weights, sc.v1.schema, sc.trained.v1.baseline)(hashedSeed.rows) as Float32Array;
    const r = await all({ window: hashed, orderBy: "ts", order: "asc" });
    r.rows.forEach((row, i) => {
      const p = row.probabilities as Record<string, number>;
      expect(p.yes).toBeCloseTo(ts[i * 2 + 1]!, 4);
      expect(row.predicted).toBe(hashedSeed.predicted[i]);
    });
  });

  it("counts groups instead of rows", async () => {
    const r = await queryLogs(t.store, { model: sc.model, window: sc.windows.drifted, groupBy: "variant" });
    expect(r.groups).toEqual([
      { key: "primary", rows: 3000 },
      { key: "shadow", rows: 3000 },
    ].sort((a, b) => a.key.localeCompare(b.key)));
    const labels = await queryLogs(t.store, { model: sc.model, window: sc.windows.drifted, version: "1", groupBy: "label" });
    const yes = count(drifted().labels, (i) => drifted().labels[i] === "yes");
    expect(labels.groups).toContainEqual({ key: "yes", rows: yes });
    const errors = await queryLogs(t.store, { model: sc.model, window: sc.windows.baseline, groupBy: "error" });
    expect(errors.groups).toContainEqual({ key: "inference_failed", rows: 30 });
  });
});

describe("queryLogs pagination", () => {
  async function pages(filters: Omit<LogFilters, "model" | "cursor">): Promise<LogRow[][]> {
    const out: LogRow[][] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await queryLogs(t.store, { model: sc.model, ...filters, ...(cursor ? { cursor } : {}) });
      out.push(page.rows);
      if (!page.truncated) return out;
      expect(page.nextCursor).not.toBeNull();
      cursor = page.nextCursor!;
    }
  }
  const key = (r: LogRow) => `${r.requestId}/${r.variant}`;

  it("walks newest first in pages that neither overlap nor skip", async () => {
    const result = await pages({ window: sc.windows.drifted, limit: 700 });
    expect(result.length).toBe(9);
    const flat = result.flat();
    expect(flat.length).toBe(6000);
    expect(new Set(flat.map(key)).size).toBe(6000);
    for (let i = 1; i < flat.length; i++) expect(flat[i]!.tsUs).toBeLessThanOrEqual(flat[i - 1]!.tsUs);
  });

  it("pages by confidence, ascending", async () => {
    const flat = (await pages({ window: sc.windows.drifted, version: "1", orderBy: "confidence", order: "asc", limit: 1000 })).flat();
    expect(flat.length).toBe(3000);
    expect(new Set(flat.map(key)).size).toBe(3000);
    for (let i = 1; i < flat.length; i++) expect(flat[i]!.confidence!).toBeGreaterThanOrEqual(flat[i - 1]!.confidence!);
  });

  it("pages by latency, descending, where rows tie (a primary and its shadow share a latency here)", async () => {
    const flat = (await pages({ window: sc.windows.drifted, orderBy: "latency", limit: 777 })).flat();
    expect(flat.length).toBe(6000);
    expect(new Set(flat.map(key)).size).toBe(6000);
    expect(new Set(flat.map((r) => r.latencyMs)).size).toBe(3000);
    for (let i = 1; i < flat.length; i++) expect(flat[i]!.latencyMs).toBeLessThanOrEqual(flat[i - 1]!.latencyMs);
  });

  it("refuses a cursor from another ordering or one that was tampered with", async () => {
    const first = await queryLogs(t.store, { model: sc.model, window: sc.windows.drifted, limit: 10 });
    await expect(queryLogs(t.store, { model: sc.model, window: sc.windows.drifted, orderBy: "confidence", cursor: first.nextCursor! })).rejects.toThrow(
      /cursor belongs to orderBy 'ts'/,
    );
    await expect(queryLogs(t.store, { model: sc.model, cursor: "' OR 1=1 --" })).rejects.toThrow(/invalid cursor/);
  });
});

describe("queryLogs input handling", () => {
  const hostile = [
    "' OR 1=1 --",
    "x'); DROP TABLE mlwatch.predictions; --",
    "{model:String}",
    "\\' OR ''='",
    "credit' UNION SELECT * FROM mlwatch.labels --",
    "\u0000\n\t;",
  ];

  it("treats hostile strings in every string filter as plain values", async () => {
    const [before] = await t.store.rows<{ n: number }>(`SELECT count() AS n FROM ${t.store.table("predictions")}`);
    for (const s of hostile) {
      const attempts: LogFilters[] = [
        { model: s },
        { model: sc.model, version: s },
        { model: sc.model, predicted: s },
        { model: sc.model, label: s },
        { model: sc.model, requestId: s },
        { model: sc.model, errorReason: s },
        { model: sc.model, features: [{ feature: "region", op: "eq", value: s }] },
        { model: sc.model, groupBy: "variant", predicted: s },
      ];
      for (const filters of attempts) {
        const r = await queryLogs(t.store, { window: { lastSeconds: 24 * 3600 }, ...filters });
        expect(r.rows).toEqual([]);
        expect(r.groups ?? []).toEqual([]);
      }
    }
    const tables = await t.store.rows<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = {db:String} AND name IN ('predictions', 'labels') ORDER BY name`,
      { db: t.store.database },
    );
    expect(tables.map((x) => x.name)).toEqual(["labels", "predictions"]);
    const [after] = await t.store.rows<{ n: number }>(`SELECT count() AS n FROM ${t.store.table("predictions")}`);
    expect(after).toEqual(before);
  });

  it("names the known features when asked for an unknown one", async () => {
    await expect(queryLogs(t.store, { model: sc.model, features: [{ feature: "salary", op: "gt", value: 1 }] })).rejects.toThrow(
      /unknown feature 'salary'.*known features: age, income, debt_ratio, credit_lines, late_payments, employment, region, loan_purpose/,
    );
    await expect(queryLogs(t.store, { model: sc.model, features: [{ feature: "x') OR 1=1 --", op: "eq", value: 1 }] })).rejects.toThrow(/unknown feature/);
  });

  it("rejects malformed filters with a message naming the field", async () => {
    await expect(queryLogs(t.store, { model: sc.model, limit: 6000 })).rejects.toThrow(/limit/);
    await expect(queryLogs(t.store, { model: sc.model, orderBy: "request_id; DROP" as never })).rejects.toThrow(/orderBy/);
    await expect(queryLogs(t.store, { model: sc.model, features: [{ feature: "region", op: "lt", value: "east" }] })).rejects.toThrow(/op must be eq or neq/);
    await expect(queryLogs(t.store, { model: sc.model, features: [{ feature: "income", op: "gt", value: "1" }] })).rejects.toThrow(/must be a number/);
  });
});
