import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listModelsOverview, modelHealth } from "../analysis/index.ts";
import { seedDriftScenario, type DriftScenario } from "./helpers/seed-store.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

let t: TempStore;
let sc: DriftScenario;
let all: { fromUs: number; toUs: number };

beforeAll(async () => {
  t = await tempStore();
  sc = await seedDriftScenario(t.store, t.config.modelDir);
  all = { fromUs: sc.windows.baseline.fromUs, toUs: sc.windows.canary.toUs };
}, 120_000);

afterAll(async () => {
  await t?.cleanup();
});

/** Latency quantiles straight from the table, in ms, for comparison. */
async function directQuantiles(where: string): Promise<number[]> {
  const [row] = await t.store.rows<{ q: number[] }>(
    `SELECT quantilesExact(0.5, 0.95, 0.99)(latency_us) AS q FROM ${t.store.table("predictions")} FINAL
     WHERE model = {model:String} AND error = '' AND ts >= fromUnixTimestamp64Micro({from:Int64}) AND ts < fromUnixTimestamp64Micro({to:Int64}) AND ${where}`,
    { model: sc.model, from: all.fromUs, to: all.toUs },
  );
  return row!.q.map((x) => Number(x) / 1000);
}

describe("modelHealth", () => {
  it("reports latency percentiles equal to a direct quantile query, served and per version", async () => {
    const r = await modelHealth(t.store, { model: sc.model, window: all });
    const [p50, p95, p99] = await directQuantiles("variant != 'shadow'");
    expect(r.served.latencyMs).toEqual({ p50, p95, p99 });
    const shadow = await directQuantiles("variant = 'shadow'");
    expect(r.shadow?.latencyMs).toEqual({ p50: shadow[0], p95: shadow[1], p99: shadow[2] });
    const canary = await directQuantiles("version = '2' AND variant = 'canary'");
    const row = r.byVersion.find((v) => v.version === "2" && v.variant === "canary")!;
    expect(row.latencyMs).toEqual({ p50: canary[0], p95: canary[1], p99: canary[2] });
  });

  it("counts rows, errors by reason and throughput per version and variant", async () => {
    const r = await modelHealth(t.store, { model: sc.model, window: all });
    const seeded = sc.seeded;
    expect(r.byVersion.map((v) => [v.version, v.variant, v.rows, v.errors])).toEqual([
      ["1", "primary", seeded.baseline.requestIds.length + seeded.drifted.requestIds.length + seeded.canaryV1.requestIds.length, 30],
      ["2", "canary", 1500, 0],
      ["2", "shadow", 3000, 0],
    ]);
    expect(r.served.rows).toBe(9000);
    expect(r.served.errorRate).toBeCloseTo(30 / 9000, 12);
    expect(r.served.throughputPerSec).toBeCloseTo(9000 / r.window.seconds, 9);
    expect(r.errorsByReason).toEqual([
      { reason: "inference_failed", rows: 30, example: "inference_failed: seeded failure", byVersion: [{ version: "1", variant: "primary", rows: 30 }] },
    ]);
  });

  it("per served version: primary and canary rows together, shadow rows left out, with exact quantiles and errors by reason", async () => {
    const r = await modelHealth(t.store, { model: sc.model, window: all });
    expect(r.servedByVersion.map((v) => [v.version, v.rows, v.errors])).toEqual([
      ["1", r.byVersion.find((v) => v.version === "1" && v.variant === "primary")!.rows, 30],
      ["2", 1500, 0],
    ]);
    const [p50, p95, p99] = await directQuantiles("version = '1' AND variant != 'shadow'");
    expect(r.servedByVersion[0]!.latencyMs).toEqual({ p50, p95, p99 });
    expect(r.servedByVersion[0]!.errorsByReason).toEqual([{ reason: "inference_failed", rows: 30 }]);
    expect(r.servedByVersion[1]!.errorsByReason).toEqual([]);
  });

  it("buckets served traffic over time, adding up to the totals", async () => {
    const r = await modelHealth(t.store, { model: sc.model, window: all, bucketSeconds: 1800 });
    expect(r.trend.reduce((a, b) => a + b.rows, 0)).toBe(r.served.rows);
    expect(r.trend.reduce((a, b) => a + b.errors, 0)).toBe(30);
    // Buckets lying wholly in the hour between two seeded windows are empty.
    const gaps = [
      [sc.windows.baseline.toUs, sc.windows.drifted.fromUs],
      [sc.windows.drifted.toUs, sc.windows.canary.fromUs],
    ];
    const inGap = r.trend.filter((b) => gaps.some(([from, to]) => b.startUs >= from! && b.startUs + 1800e6 <= to!));
    expect(inGap.length).toBeGreaterThanOrEqual(2);
    for (const b of inGap) expect(b).toMatchObject({ rows: 0, latencyMs: null });
    for (const b of r.trend.filter((x) => x.rows > 0)) expect(b.latencyMs!.p99).toBeGreaterThanOrEqual(b.latencyMs!.p50);
    await expect(modelHealth(t.store, { model: sc.model, window: all, bucketSeconds: 0 })).rejects.toThrow(/bucketSeconds/);
  });

  it("answers an idle window with zeros", async () => {
    const r = await modelHealth(t.store, { model: sc.model, window: { fromUs: 1e6, toUs: 2e6 } });
    expect(r.served).toMatchObject({ rows: 0, errors: 0, latencyMs: null });
    expect(r.notes).toContain("no predictions in the window");
  });
});

describe("listModelsOverview", () => {
  it("lists models with versions, production version, traffic state and last-hour counts", async () => {
    const r = await listModelsOverview(t.store, sc.windows.canary.toUs);
    const m = r.models.find((x) => x.model === sc.model)!;
    expect(m.versions.map((v) => [v.version, v.status])).toEqual([
      ["1", "production"],
      ["2", "staging"],
    ]);
    expect(m.production).toBe("1");
    expect(m.traffic).toMatchObject({ primary: "1", canary: { version: "2", percent: 50 } });
    expect(m.lastHour.byVersion).toEqual([
      { version: "1", variant: "primary", rows: 1500, errors: 0 },
      { version: "2", variant: "canary", rows: 1500, errors: 0 },
    ]);
  });
});
