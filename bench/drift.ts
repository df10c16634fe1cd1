/**
 * Analysis read benchmark: `npx tsx bench/drift.ts [--rows 1000000]`.
 *
 * Fills a fresh embedded store with --rows (1,000,000) predictions (last hour) for each of two real models,
 * a 20-feature and a 100-feature logistic regression trained on the hyperplane generator (features
 * ~ N(0, 1)) and registered with their baselines. Rows are generated inside ClickHouse with
 * INSERT … SELECT FROM numbers() in 100k-row batches: values N(0, 1), five features shifted by
 * +0.5 so the drift report has something to find, bins computed as floor(100·Φ(x)) — the
 * standard normal's percentile bins, which the baseline's empirical edges approximate (bins are not
 * binRow's exactly; for timing that does not matter). 1% of rows are errors, 30% are labelled.
 * The insert names every column of the predictions table as it stands after the migrations, each
 * with its generating expression (typed against PredictionRow, checked against system.columns), so
 * a column added to the table stops the bench with its name instead of a column-count mismatch.
 *
 * Times (wall clock, through @clickhouse/client, after one warm-up call):
 *  - detectDataDrift over 1M × 20 and 1M × 100: median and p95 of 5 runs (target < 10 s);
 *  - getAccuracy, queryLogs (newest page; a feature filter; ordered by confidence), featureDistribution
 *    and modelHealth over the same 1M rows: median and p95 of 20 runs (target p95 ≤ 300 ms).
 * Timing starts once background merges have finished. p95 is the nearest-rank value. Prints a table and writes bench/results/drift.json with the machine
 * and its load average: on a shared 2-core box the figures move with whatever else runs.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { detectDataDrift, featureDistribution, getAccuracy, modelHealth, queryLogs } from "../analysis/index.ts";
import { loadConfig } from "../config.ts";
import { generateHyperplane } from "../models/datasets/hyperplane.ts";
import { registerVersion } from "../models/registry.ts";
import { trainModel } from "../models/train.ts";
import { openStore, type Store } from "../store/client.ts";
import { migrate } from "../store/migrations.ts";
import type { PredictionRow } from "../store/tables.ts";
import { writeResult } from "./write-result.ts";

const ROWS = Number(process.argv[process.argv.indexOf("--rows") + 1]) || 1_000_000;
const BATCH = Math.min(ROWS, 100_000);
/** "1M", "20k" or the count, for the case names. */
const ROWS_LABEL = ROWS % 1_000_000 === 0 ? `${ROWS / 1_000_000}M` : ROWS % 1000 === 0 ? `${ROWS / 1000}k` : String(ROWS);
const DRIFT_RUNS = 5;
const READ_RUNS = 20;
const READ_TARGET_MS = 300;
const DRIFT_TARGET_MS = 10_000;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-bench-drift-"));
const config = loadConfig({ MLWATCH_DATA_DIR: dir, MLWATCH_QUERY_TIMEOUT_S: "600", MLWATCH_LOG_TTL_DAYS: "0" });
const store = await openStore(config);
await migrate(store);
const nowUs = Date.now() * 1000;
// Every read covers exactly the seeded hour, so row counts stay put while the clock runs.
const window = { fromUs: nowUs - 3600e6, toUs: nowUs };

/** Trains and registers a real model with `dims` numeric features; returns its name and version. */
async function registerModel(dims: number): Promise<{ model: string; version: string }> {
  const model = `bench${dims}`;
  const trained = trainModel({ dataset: generateHyperplane(5000, 1, { dims }), kind: "logistic", seed: 1 });
  const v = await registerVersion(store, config.modelDir, {
    model,
    kind: "logistic",
    onnx: trained.onnx,
    schema: trained.schema,
    metrics: trained.metrics,
    trainingData: trained.trainingData,
    baseline: trained.baseline,
    actor: "bench",
  });
  return { model, version: v.version };
}

/**
 * What each column of a generated prediction holds, in SQL over `number` from numbers(); values
 * arrive as query parameters only. Typed against PredictionRow, so a column added there fails to
 * compile here until the bench says what it holds.
 */
const generated = {
  request_id: "concat({model:String}, '-', toString(number))",
  ts: "fromUnixTimestamp64Micro(toInt64({startUs:Int64} + number * {stepUs:Int64}))",
  model: "{model:String}",
  version: "{version:String}",
  variant: "if(number % 10 = 0, 'canary', 'primary')",
  feature_num: "arrayMap(j -> toNullable(randNormal(0., 1., number + j) + if(j < 5, 0.5, 0.)), range({dims:UInt32}))",
  feature_cat: "CAST([], 'Array(String)')",
  // Over the feature_num just generated: the alias refers to that column of this SELECT.
  feature_bin: "arrayMap(x -> toUInt8(least(99, floor(100 * 0.5 * (1 + erf(assumeNotNull(x) / sqrt(2)))))), feature_num)",
  feature_hash: "''",
  predicted: "if(rand(1) % 2 = 0, 'positive', 'negative')",
  probabilities: "[toFloat32(0.5), toFloat32(0.5)]",
  confidence: "toFloat32(0.5 + (rand(2) % 5000) / 10000)",
  latency_us: "toUInt32(300 + rand(3) % 5000)",
  error: "if(rand(4) % 100 = 0, 'inference_failed: synthetic', '')",
  correlation_id: "''",
  fallback: "''",
  cached: "toUInt8(0)",
  job_id: "''",
} satisfies Record<keyof PredictionRow, string>;

/**
 * The INSERT … SELECT for generated predictions over the table's real columns, in its order. A
 * column the bench does not generate, or one it generates that the table lacks, stops the bench.
 */
async function predictionsInsert(s: Store): Promise<string> {
  const columns = (
    await s.rows<{ name: string }>(`SELECT name FROM system.columns WHERE database = {db:String} AND table = 'predictions' ORDER BY position`, { db: s.database })
  ).map((c) => c.name);
  const known = new Map<string, string>(Object.entries(generated));
  const missing = columns.filter((c) => !known.has(c));
  const extra = [...known.keys()].filter((c) => !columns.includes(c));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(`bench/drift.ts is out of step with the predictions table: not generated ${JSON.stringify(missing)}, not in the table ${JSON.stringify(extra)}`);
  }
  // Column names come from the table itself (no request reaches them); values stay parameters.
  return `INSERT INTO ${s.table("predictions")} (${columns.join(", ")})
     SELECT ${columns.map((c) => `${known.get(c)} AS ${c}`).join(",\n            ")}
     FROM numbers({offset:UInt64}, {batch:UInt64})`;
}

/** ROWS rows over the last hour, generated by ClickHouse in BATCH-row inserts, and labels for 30% of them. */
async function fill(model: string, version: string, dims: number): Promise<number> {
  const insert = await predictionsInsert(store);
  const started = performance.now();
  for (let offset = 0; offset < ROWS; offset += BATCH) {
    await store.command(insert, { model, version, dims, offset, batch: Math.min(BATCH, ROWS - offset), startUs: nowUs - 3600e6, stepUs: Math.floor(3600e6 / ROWS) });
  }
  await store.command(
    `INSERT INTO ${store.table("labels")}
     SELECT concat({model:String}, '-', toString(number)), {model:String}, if(rand(5) % 2 = 0, 'positive', 'negative'), now64(6)
     FROM numbers({rows:UInt64}) WHERE number % 10 < 3`,
    { model, rows: ROWS },
  );
  return performance.now() - started;
}

interface Timing {
  case: string;
  runs: number;
  medianMs: number;
  p95Ms: number;
  minMs: number;
  targetMs: number;
  met: boolean;
  note?: string;
}

async function time(name: string, runs: number, targetMs: number, fn: () => Promise<unknown>, note?: (r: unknown) => string): Promise<Timing> {
  const warm = await fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    ms.push(performance.now() - started);
  }
  ms.sort((a, b) => a - b);
  const p95 = ms[Math.min(ms.length - 1, Math.ceil(0.95 * ms.length) - 1)]!;
  const t: Timing = { case: name, runs, medianMs: ms[Math.floor(ms.length / 2)]!, p95Ms: p95, minMs: ms[0]!, targetMs, met: p95 <= targetMs };
  if (note) t.note = note(warm);
  console.log(`${name.padEnd(44)} median ${fmt(t.medianMs)}  p95 ${fmt(t.p95Ms)}  min ${fmt(t.minMs)}  target ${fmt(targetMs)}  ${t.met ? "met" : "MISSED"}${t.note ? `  (${t.note})` : ""}`);
  return t;
}

const fmt = (ms: number) => `${ms.toFixed(0).padStart(6)} ms`;

async function activeParts(s: Store): Promise<number> {
  const [r] = await s.rows<{ n: number }>(`SELECT count() AS n FROM system.parts WHERE database = {db:String} AND table = 'predictions' AND active`, { db: s.database });
  return Number(r?.n ?? 0);
}

const m20 = await registerModel(20);
const m100 = await registerModel(100);
const fillMs = { [m20.model]: await fill(m20.model, m20.version, 20), [m100.model]: await fill(m100.model, m100.version, 100) };
console.log(`filled 2 × ${ROWS.toLocaleString("en-US")} rows in ${(fillMs[m20.model]! / 1000).toFixed(1)} s (20 features) and ${(fillMs[m100.model]! / 1000).toFixed(1)} s (100 features); ${await activeParts(store)} active parts`);

// Background merges right after the inserts would be timed with the reads; let them finish (not
// OPTIMIZE ... FINAL: parts stay as ClickHouse leaves them, as in a live store).
for (let waited = 0; waited < 120_000; waited += 1000) {
  const [m] = await store.rows<{ n: number }>(`SELECT count() AS n FROM system.merges WHERE database = {db:String}`, { db: store.database });
  if (Number(m?.n ?? 0) === 0) break;
  await new Promise((r) => setTimeout(r, 1000));
}
console.log(`${await activeParts(store)} active parts when timing starts`);
const loadBefore = os.loadavg();
const results: Timing[] = [];
const driftNote = (r: unknown) => {
  const d = r as Awaited<ReturnType<typeof detectDataDrift>>;
  return `${d.rows} rows, drifted: ${d.dataset?.driftedFeatures.join(",")}`;
};
results.push(await time(`detectDataDrift ${ROWS_LABEL} × 20`, DRIFT_RUNS, DRIFT_TARGET_MS, () => detectDataDrift(store, { window, model: m20.model }), driftNote));
results.push(await time(`detectDataDrift ${ROWS_LABEL} × 100`, DRIFT_RUNS, DRIFT_TARGET_MS, () => detectDataDrift(store, { window, model: m100.model }), driftNote));
for (const m of [m20, m100]) {
  const tag = `(${m.model})`;
  results.push(
    await time(`getAccuracy ${tag}`, READ_RUNS, READ_TARGET_MS, () => getAccuracy(store, { window, model: m.model }), (r) => {
      const a = r as Awaited<ReturnType<typeof getAccuracy>>;
      return `${a.predictions} predictions, ${a.labelled} labelled`;
    }),
  );
  results.push(await time(`queryLogs newest 100 ${tag}`, READ_RUNS, READ_TARGET_MS, () => queryLogs(store, { window, model: m.model })));
  results.push(
    await time(`queryLogs x0 > 2 and hasError=false ${tag}`, READ_RUNS, READ_TARGET_MS, () =>
      queryLogs(store, { window, model: m.model, hasError: false, features: [{ feature: "x0", op: "gt", value: 2 }] }),
    ),
  );
  results.push(await time(`queryLogs by confidence ${tag}`, READ_RUNS, READ_TARGET_MS, () => queryLogs(store, { window, model: m.model, orderBy: "confidence" })));
  results.push(await time(`queryLogs groupBy variant ${tag}`, READ_RUNS, READ_TARGET_MS, () => queryLogs(store, { window, model: m.model, groupBy: "variant" })));
  results.push(await time(`featureDistribution x0 ${tag}`, READ_RUNS, READ_TARGET_MS, () => featureDistribution(store, { window, model: m.model, feature: "x0" })));
  results.push(await time(`modelHealth ${tag}`, READ_RUNS, READ_TARGET_MS, () => modelHealth(store, { window, model: m.model })));
}
const loadAfter = os.loadavg();

const environment = {
  node: process.version,
  cpu: os.cpus()[0]?.model ?? "unknown",
  cpus: os.cpus().length,
  loadAverage1mBefore: loadBefore[0],
  loadAverage1mAfter: loadAfter[0],
  date: new Date().toISOString(),
};
writeResult("drift", { benchmark: "analysis reads", rows: ROWS, insertBatch: BATCH, fillMs, activeParts: await activeParts(store), environment, results });
await store.close();
fs.rmSync(dir, { recursive: true, force: true });
