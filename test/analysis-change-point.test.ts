import { afterAll, beforeAll, expect, it } from "vitest";
import { findChangePoint } from "../analysis/change-point.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import { nowMicros } from "../store/clock.ts";
import type { ModelVersion } from "../models/registry.ts";
import { registerTrained } from "./helpers/models.ts";
import { labelNames, seedPredictions } from "./helpers/seed-store.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

let t: TempStore;
let v1: ModelVersion;
// Recent: the log's TTL drops rows older than its retention at insert.
const START = nowMicros() - 4000 * 1_000_000;
const STEP = 1_000_000;

beforeAll(async () => {
  t = await tempStore();
  v1 = await registerTrained(t.store, t.config.modelDir, { model: "credit", rows: 4000 });
  const calm = generateCredit(1500, 21);
  // From row 1500 on, incomes fall by half: the inputs move and the answers get worse.
  const shifted = generateCredit(1500, 22);
  const rows = [...calm.examples, ...shifted.examples.map((e) => ({ ...e, row: { ...e.row, income: Number(e.row.income) * 0.5 } }))];
  // Labels flipped at random for a fifth of the shifted rows as well: accuracy drops at the same time.
  const labels = [...labelNames(calm), ...labelNames(shifted).map((l, i) => (i % 5 === 0 ? (l === calm.schema.classes[0] ? calm.schema.classes[1]! : calm.schema.classes[0]!) : l))];
  await seedPredictions(t.store, { model: "credit", version: v1.version, schema: v1.schema, rows: rows.map((e) => e.row), labels, startUs: START, stepUs: STEP, requestIdPrefix: "cp-" });
}, 120_000);

afterAll(async () => t?.cleanup());

it("finds when the traffic changed, from the feature and the accuracy signals, within a bucket of the truth", async () => {
  const r = await findChangePoint(t.store, { model: "credit", version: v1.version, window: { fromUs: START, toUs: START + 3000 * STEP } });
  expect(r.change).not.toBeNull();
  const bucketUs = (3000 * STEP) / 40;
  expect(Math.abs(r.change!.atUs - (START + 1500 * STEP))).toBeLessThanOrEqual(bucketUs);
  const signals = r.signals.map((s) => s.signal);
  expect(signals).toContain("feature:income");
  expect(signals).toContain("accuracy");
  expect(r.signals.find((s) => s.signal === "accuracy")!.after).toBeLessThan(r.signals.find((s) => s.signal === "accuracy")!.before);
});

it("finds no change in calm traffic, and answers an empty window without throwing", async () => {
  const calm = await findChangePoint(t.store, { model: "credit", version: v1.version, window: { fromUs: START, toUs: START + 1400 * STEP } });
  expect(calm.change).toBeNull();
  const empty = await findChangePoint(t.store, { model: "credit", version: v1.version, window: { fromUs: START - 10_000 * STEP, toUs: START - 1 } });
  expect(empty).toMatchObject({ change: null, signals: [] });
});
