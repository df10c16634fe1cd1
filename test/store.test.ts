import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config.ts";
import { addColumns, createTable } from "../store/ddl.ts";
import { proposalsTable } from "../store/proposals-table.ts";
import { appliedVersions, migrate, migrations } from "../store/migrations.ts";
import { openStore } from "../store/client.ts";
import { predictionsTable, type PredictionRow } from "../store/tables.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

let t: TempStore;
beforeAll(async () => {
  t = await tempStore();
});
afterAll(async () => t?.cleanup());

function prediction(id: string, overrides: Partial<PredictionRow> = {}): PredictionRow {
  return {
    request_id: id,
    ts: 1_790_000_000_000_000,
    model: "m",
    version: "1",
    variant: "primary",
    feature_num: [1.5, null],
    feature_cat: ["a"],
    feature_bin: [3, 255, 0],
    feature_hash: "h",
    predicted: "yes",
    probabilities: [0.25, 0.75],
    confidence: 0.75,
    latency_us: 120,
    error: "",
    correlation_id: "",
    fallback: "",
    cached: 0,
    job_id: "",
    ...overrides,
  };
}

describe("migrations", () => {
  it("apply every version once; running again changes nothing", async () => {
    expect(await appliedVersions(t.store)).toEqual(migrations.map((m) => m.version));
    const tablesBefore = await t.store.rows<{ name: string }>("SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name", { db: t.store.database });
    const again = await migrate(t.store);
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toEqual(migrations.map((m) => m.version));
    const tablesAfter = await t.store.rows<{ name: string }>("SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name", { db: t.store.database });
    expect(tablesAfter).toEqual(tablesBefore);
    expect(tablesAfter.map((r) => r.name)).toEqual(
      expect.arrayContaining(["predictions", "labels", "deployments", "model_versions", "baselines", "schema_migrations"]),
    );
    const rows = await t.store.rows<{ n: number }>(`SELECT count() AS n FROM ${t.store.table("schema_migrations")} FINAL`);
    expect(Number(rows[0]?.n)).toBe(migrations.length);
  });
});

describe("predictions", () => {
  it("a repeated batch is not double-counted", async () => {
    const batch = Array.from({ length: 50 }, (_, i) => prediction(`dup-${i}`));
    await t.store.insert("predictions", batch);
    await t.store.insert("predictions", batch);
    const [row] = await t.store.rows<{ n: number }>(
      `SELECT count() AS n FROM ${t.store.table("predictions")} FINAL WHERE startsWith(request_id, 'dup-')`,
    );
    expect(Number(row?.n)).toBe(50);
  });

  it("keeps a shadow row that shares its request id with the primary row", async () => {
    await t.store.insert("predictions", [prediction("pair"), prediction("pair", { variant: "shadow", version: "2" })]);
    const rows = await t.store.rows<{ variant: string }>(
      `SELECT variant FROM ${t.store.table("predictions")} FINAL WHERE request_id = {id:String} ORDER BY variant`,
      { id: "pair" },
    );
    expect(rows.map((r) => r.variant)).toEqual(["primary", "shadow"]);
  });

  it("round-trips arrays with missing values and microsecond timestamps", async () => {
    await t.store.insert("predictions", [prediction("rt", { ts: 1_790_000_000_123_456 })]);
    const [row] = await t.store.rows<{ us: number; feature_num: (number | null)[]; probabilities: number[] }>(
      `SELECT toUnixTimestamp64Micro(ts) AS us, feature_num, probabilities FROM ${t.store.table("predictions")} WHERE request_id = {id:String}`,
      { id: "rt" },
    );
    expect(row).toEqual({ us: 1_790_000_000_123_456, feature_num: [1.5, null], probabilities: [0.25, 0.75] });
  });
});

describe("query parameters", () => {
  const hostile = [
    "'; DROP TABLE mlwatch.predictions; --",
    "x' OR '1'='1",
    "\\' OR 1=1 --",
    "}{id:String}",
    "\u0000\u202e\ud83d\ude00",
    "a\nb\tc",
  ];
  it.each(hostile)("treats %j as a value, never as SQL", async (value) => {
    await t.store.insert("predictions", [prediction(value, { model: value })]);
    const rows = await t.store.rows<{ request_id: string; model: string }>(
      `SELECT request_id, model FROM ${t.store.table("predictions")} WHERE model = {model:String} AND request_id = {id:String}`,
      { model: value, id: value },
    );
    expect(rows).toEqual([{ request_id: value, model: value }]);
    const [tables] = await t.store.rows<{ n: number }>("SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = 'predictions'", { db: t.store.database });
    expect(Number(tables?.n)).toBe(1);
  });
});

describe("migration 6", () => {
  it("gives a proposals table made before it the superseded_by column, and is a no-op on one made after", async () => {
    const m6 = migrations.find((m) => m.version === 6)!;
    const columns = async () =>
      (await t.store.rows<{ name: string }>(`SELECT name FROM system.columns WHERE database = {db:String} AND table = 'proposals'`, { db: t.store.ddlContext.database })).map((r) => r.name);
    for (const sql of m6.statements(t.store.ddlContext)) await t.store.command(sql);
    expect(await columns()).toContain("superseded_by");
    await t.store.command(`ALTER TABLE ${t.store.table("proposals")} DROP COLUMN superseded_by`);
    expect(await columns()).not.toContain("superseded_by");
    for (const sql of m6.statements(t.store.ddlContext)) await t.store.command(sql);
    expect(await columns()).toContain("superseded_by");
  });
});

describe("embedded engine", () => {
  it.skipIf(process.env.MLWATCH_TEST_STANDIN === "1")("is shared within a process and refuses a second data directory", async () => {
    const same = await openStore(t.config);
    expect(same).toBe(t.store);
    const other = loadConfig({ MLWATCH_DATA_DIR: `${t.dir}-other` });
    await expect(openStore(other)).rejects.toThrow(/one data directory per process/);
  });
});

describe("cluster DDL", () => {
  it("uses ON CLUSTER, a replicated engine and a Distributed table sharded by request id", () => {
    const [local, distributed] = createTable({ database: "db", cluster: "prod", ttlDays: 30 }, predictionsTable);
    expect(local).toContain("CREATE TABLE IF NOT EXISTS db.predictions_local ON CLUSTER prod");
    expect(local).toContain("ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/predictions_local', '{replica}')");
    expect(local).toContain("TTL toDateTime(ts) + INTERVAL 30 DAY");
    expect(distributed).toBe(
      "CREATE TABLE IF NOT EXISTS db.predictions ON CLUSTER prod AS db.predictions_local ENGINE = Distributed(prod, db, predictions_local, cityHash64(request_id))",
    );
  });

  it("adds a column to the local table and to the Distributed one in front of it", () => {
    expect(addColumns({ database: "db", cluster: "prod", ttlDays: 30 }, proposalsTable, "superseded_by String")).toEqual([
      "ALTER TABLE db.proposals_local ON CLUSTER prod ADD COLUMN IF NOT EXISTS superseded_by String",
      "ALTER TABLE db.proposals ON CLUSTER prod ADD COLUMN IF NOT EXISTS superseded_by String",
    ]);
    expect(addColumns({ database: "db", ttlDays: 30 }, proposalsTable, "superseded_by String")).toEqual(["ALTER TABLE db.proposals ADD COLUMN IF NOT EXISTS superseded_by String"]);
  });

  it("emits one plain table without a cluster, and no TTL when it is 0", () => {
    const ddl = createTable({ database: "db", ttlDays: 0 }, predictionsTable);
    expect(ddl).toHaveLength(1);
    expect(ddl[0]).toContain("ENGINE = ReplacingMergeTree()");
    expect(ddl[0]).not.toContain("TTL");
    expect(ddl[0]).not.toContain("ON CLUSTER");
  });
});

describe("configuration", () => {
  it("names the bad variable", () => {
    expect(() => loadConfig({ CLICKHOUSE_URL: "not a url" })).toThrow(/CLICKHOUSE_URL/);
    expect(() => loadConfig({ CLICKHOUSE_DATABASE: "x; DROP" })).toThrow(/CLICKHOUSE_DATABASE: must be a plain identifier/);
  });

  it("reports an unreachable server in one line", async () => {
    const config = loadConfig({ CLICKHOUSE_URL: "http://127.0.0.1:9", MLWATCH_QUERY_TIMEOUT_S: "2" });
    await expect(openStore(config)).rejects.toThrow(/cannot reach ClickHouse at http:\/\/127.0.0.1:9 \(CLICKHOUSE_URL\)/);
  });
});
