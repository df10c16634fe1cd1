/**
 * Store sizing: compressed bytes per logged prediction at 8, 20 and 100 features, from the engine's
 * own accounting (system.parts and system.parts_columns after OPTIMIZE … FINAL), and what that
 * means for a day's predictions under the TTL.
 *
 *   npx tsx bench/sizing.ts [--rows 300000]
 *
 * Rows are built as serving writes them: features from the data generators (credit: 5 numeric and
 * 3 categorical; hyperplane: all numeric), their baseline bins, the feature hash, time-ordered
 * request ids at 1,000 requests/s, probabilities, latency. Byte figures do not depend on the
 * machine's load; the insert rate printed beside them does, and is only a side note.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { loadConfig } from "../config.ts";
import { featureHash } from "../inference/feature-hash.ts";
import { newRequestId } from "../inference/request-id.ts";
import { binIndex, featureBaselines } from "../models/baseline.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import { generateHyperplane } from "../models/datasets/hyperplane.ts";
import type { Dataset } from "../models/schema.ts";
import { openStore, type Store } from "../store/client.ts";
import { migrate } from "../store/migrations.ts";
import type { PredictionRow } from "../store/tables.ts";
import { writeResult } from "./write-result.ts";

const ROWS = Number(process.argv[process.argv.indexOf("--rows") + 1]) || 300_000;
const BATCH = 10_000;
const TTL_DAYS = 90;
const DAILY = [1e6, 1e8, 1e9];

function predictionRows(d: Dataset, t0Us: number): PredictionRow[] {
  const bins = featureBaselines(d.examples.slice(0, 5000).map((e) => e.row), d.schema, 1);
  const num = d.schema.features.filter((f) => f.type === "numeric").map((f) => f.name);
  const cat = d.schema.features.filter((f) => f.type === "categorical").map((f) => f.name);
  return d.examples.map((e, i) => {
    const p = 1 / (1 + Math.exp(-((i * 7919) % 200) / 25 + 4));
    return {
      request_id: newRequestId(Math.floor(t0Us / 1000) + i),
      ts: t0Us + i * 1000,
      model: "credit",
      version: "3",
      variant: "primary",
      feature_num: num.map((n) => (typeof e.row[n] === "number" ? (e.row[n] as number) : null)),
      feature_cat: cat.map((n) => String(e.row[n] ?? "")),
      feature_bin: d.schema.features.map((f, k) => binIndex(e.row[f.name], bins[k]!)),
      feature_hash: featureHash(e.row),
      predicted: p > 0.5 ? d.schema.classes[1]! : d.schema.classes[0]!,
      probabilities: [1 - p, p],
      confidence: Math.max(p, 1 - p),
      latency_us: 300 + ((i * 104729) % 1700),
      error: "",
      correlation_id: "",
      fallback: "",
      cached: 0,
      job_id: "",
    };
  });
}

async function measure(store: Store, features: number, d: Dataset) {
  const table = store.table("predictions");
  await store.command(`TRUNCATE TABLE ${table}`);
  const rows = predictionRows(d, Date.UTC(2026, 11, 1) * 1000);
  const started = performance.now();
  for (let i = 0; i < rows.length; i += BATCH) await store.insert("predictions", rows.slice(i, i + BATCH));
  const insertRowsPerS = Math.round(rows.length / ((performance.now() - started) / 1000));
  await store.command(`OPTIMIZE TABLE ${table} FINAL`);
  const where = "database = {db:String} AND table = 'predictions' AND active";
  const [parts] = await store.rows<{ rows: number; compressed: number; uncompressed: number; onDisk: number }>(
    `SELECT sum(rows) AS rows, sum(data_compressed_bytes) AS compressed, sum(data_uncompressed_bytes) AS uncompressed, sum(bytes_on_disk) AS onDisk FROM system.parts WHERE ${where}`,
    { db: store.database },
  );
  const columns = await store.rows<{ column: string; compressed: number }>(
    `SELECT column, sum(column_data_compressed_bytes) AS compressed FROM system.parts_columns WHERE ${where} GROUP BY column ORDER BY compressed DESC LIMIT 5`,
    { db: store.database },
  );
  const n = Number(parts!.rows);
  const perRow = Number(parts!.onDisk) / n;
  return {
    features,
    dataset: d.name,
    rows: n,
    bytesOnDiskPerRow: round(perRow),
    compressedBytesPerRow: round(Number(parts!.compressed) / n),
    uncompressedBytesPerRow: round(Number(parts!.uncompressed) / n),
    compressionRatio: round(Number(parts!.uncompressed) / Number(parts!.compressed)),
    largestColumns: columns.map((c) => ({ column: c.column, bytesPerRow: round(Number(c.compressed) / n) })),
    storeUnderTtl: DAILY.map((perDay) => ({ predictionsPerDay: perDay, gibPerDay: round((perDay * perRow) / 1024 ** 3), gibAt90Days: round((perDay * perRow * TTL_DAYS) / 1024 ** 3) })),
    insertRowsPerS,
  };
}

const round = (x: number) => Math.round(x * 100) / 100;

async function main(): Promise<void> {
  const load = os.loadavg().map(round);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-bench-sizing-"));
  const store = await openStore(loadConfig({ MLWATCH_DATA_DIR: dir }));
  try {
    await migrate(store);
    const cases = [
      await measure(store, 8, generateCredit(ROWS, 1)),
      await measure(store, 20, generateHyperplane(ROWS, 1, { dims: 20 })),
      await measure(store, 100, generateHyperplane(ROWS, 1, { dims: 100 })),
    ];
    console.log(`predictions table, ${ROWS.toLocaleString("en-US")} rows each, after OPTIMIZE FINAL (load ${load.join(" ")})`);
    console.log("features | on disk B/row | compressed B/row | uncompressed B/row | ratio | largest columns (B/row)");
    for (const c of cases) {
      console.log(`${String(c.features).padStart(8)} | ${String(c.bytesOnDiskPerRow).padStart(13)} | ${String(c.compressedBytesPerRow).padStart(16)} | ${String(c.uncompressedBytesPerRow).padStart(18)} | ${String(c.compressionRatio).padStart(5)} | ${c.largestColumns.map((x) => `${x.column} ${x.bytesPerRow}`).join(", ")}`);
    }
    console.log(`\nstore size under the ${TTL_DAYS}-day TTL (GiB/day → GiB held):`);
    for (const c of cases) console.log(`  ${c.features} features: ${c.storeUnderTtl.map((s) => `${s.predictionsPerDay.toExponential(0)}/day ${s.gibPerDay} → ${s.gibAt90Days}`).join("; ")}`);
    console.log(`insert rate (side note, load-dependent): ${cases.map((c) => `${c.features} features ${c.insertRowsPerS.toLocaleString("en-US")} rows/s`).join(", ")}; load at end ${os.loadavg().map(round).join(" ")}`);
    writeResult("sizing", { date: new Date().toISOString(), loadAverage: { start: load, end: os.loadavg().map(round) }, rowsPerCase: ROWS, ttlDays: TTL_DAYS, cases });
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
