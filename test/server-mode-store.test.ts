import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectDataDrift, getAccuracy } from "../analysis/index.ts";
import { migrate, migrations } from "../store/migrations.ts";
import { seedDriftScenario, type DriftScenario } from "./helpers/seed-store.ts";
import { startStandIn, type StandIn } from "./helpers/clickhouse-standin.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

// The store in server mode (CLICKHOUSE_URL) over ClickHouse's HTTP interface: migrations, inserts
// both ways (rows and spooled JSON lines), labels, and the analysis reads, executed by the engine
// behind the stand-in. Any other store test can run the same way: MLWATCH_TEST_STANDIN=1.

let standIn: StandIn;
let t: TempStore;
let sc: DriftScenario;

beforeAll(async () => {
  standIn = await startStandIn();
  t = await tempStore({ CLICKHOUSE_URL: standIn.url, MLWATCH_LOG_TTL_DAYS: "30" });
  sc = await seedDriftScenario(t.store, t.config.modelDir);
}, 120_000);

afterAll(async () => {
  await t?.cleanup();
  await standIn?.stop("SIGTERM");
  if (standIn) fs.rmSync(standIn.dir, { recursive: true, force: true });
});

describe("store in server mode over HTTP", () => {
  it("runs the generated server DDL: every table, its engine and TTL; a second migrate changes nothing", async () => {
    expect(t.store.mode).toBe("server");
    const tables = await t.store.rows<{ name: string; engine: string; create_table_query: string }>(
      "SELECT name, engine, create_table_query FROM system.tables WHERE database = {db:String} ORDER BY name",
      { db: t.store.database },
    );
    const byName = new Map(tables.map((r) => [r.name, r]));
    expect([...byName.keys()]).toEqual(expect.arrayContaining(["predictions", "labels", "deployments", "model_versions", "baselines", "proposals", "schema_migrations"]));
    expect(byName.get("predictions")?.engine).toBe("ReplacingMergeTree");
    expect(byName.get("predictions")?.create_table_query).toMatch(/TTL toDateTime\(ts\) \+ toIntervalDay\(30\)/);
    const again = await migrate(t.store);
    expect(again).toEqual({ applied: [], alreadyApplied: migrations.map((m) => m.version) });
  });

  it("stores spooled JSON lines once however often a segment is replayed", async () => {
    // Now, not a fixed date: the 30-day TTL drops older rows as they are written.
    const now = Date.now() * 1000;
    const row = (i: number) => ({
      request_id: `spool-${i}`, ts: now + i, model: "spooled", version: "1", variant: "primary",
      feature_num: [i, null], feature_cat: ["x"], feature_bin: [1], feature_hash: "h", predicted: "yes",
      probabilities: [0.5, 0.5], confidence: 0.5, latency_us: 1, error: "", correlation_id: "",
    });
    const body = Buffer.from(Array.from({ length: 40 }, (_, i) => JSON.stringify(row(i)) + "\n").join(""));
    await t.store.insertJsonLines("predictions", body);
    await t.store.insertJsonLines("predictions", body);
    const [n] = await t.store.rows<{ rows: number; ids: number }>(
      `SELECT count() AS rows, uniqExact(request_id) AS ids FROM ${t.store.table("predictions")} FINAL WHERE model = {m:String}`,
      { m: "spooled" },
    );
    expect({ rows: Number(n?.rows), ids: Number(n?.ids) }).toEqual({ rows: 40, ids: 40 });
  });

  it("reads accuracy from predictions joined with labels exactly as seeded", async () => {
    const r = await getAccuracy(t.store, { model: sc.model, window: sc.windows.baseline });
    const s = sc.seeded.baseline;
    expect({ predictions: r.predictions, errors: r.errors, labelled: r.labelled, correct: r.correct }).toEqual({
      predictions: s.answered,
      errors: s.errors,
      labelled: s.labelled,
      correct: s.correct,
    });
  });

  it("finds the drifted feature", async () => {
    const r = await detectDataDrift(t.store, { model: sc.model, window: sc.windows.drifted });
    expect(r.features[0]).toMatchObject({ feature: sc.driftedFeature, drifted: true });
    expect(r.dataset?.driftedFeatures).toEqual(["income"]);
  });
});
