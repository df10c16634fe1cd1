/**
 * Ingest benchmark: prediction rows into a fresh embedded (chdb) store.
 *
 *   npx tsx bench/ingest.ts
 *
 * 1. `store.insert` directly, in batches of 1k / 10k / 100k rows: rows/s per batch size.
 * 2. The whole logging path: `LogWriter.append` (one row per call, as one request would, yielding
 *    to the event loop every 100 calls) + spool + background flushes + final `flush()`.
 * 3. `append` alone (no insert running meanwhile): the cost on the request path.
 * Between 1 and 2, the engine's own cost (INSERT … SELECT, no client, no parsing) as the ceiling.
 * Each figure is the median of 3 runs; rows are generated before the clock starts. Every run uses
 * fresh request ids, and the row count in the store is checked at the end. Prints a table and
 * writes the figures to bench/results/ingest.json. Issue target: >= 200,000 rows/s at 10k-row batches.
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { loadConfig } from "../config.ts";
import { LogWriter } from "../inference/log-writer.ts";
import { newRequestId } from "../inference/request-id.ts";
import { openStore } from "../store/client.ts";
import { migrate } from "../store/migrations.ts";
import type { PredictionRow } from "../store/tables.ts";
import { writeResult } from "./write-result.ts";

const RUNS = 3;
const ROWS_PER_RUN = 200_000;
const BATCHES = [1_000, 10_000, 100_000];
const TARGET_ROWS_PER_S_AT_10K = 200_000;

let seq = 0;
function rows(n: number, tag: string): PredictionRow[] {
  const out: PredictionRow[] = new Array(n);
  const t0 = Date.now() * 1000;
  for (let i = 0; i < n; i++) {
    const p = Math.random();
    out[i] = {
      request_id: `${tag}-${newRequestId()}`,
      ts: t0 + seq++,
      model: "credit-risk",
      version: "7",
      variant: i % 10 === 0 ? "canary" : "primary",
      // 8 features: 6 numeric (one sometimes missing) and 2 categorical, with their baseline bins.
      feature_num: [
        18 + Math.floor(Math.random() * 60),
        Math.round(Math.random() * 200_000) / 100,
        Math.random() < 0.05 ? null : Math.round(Math.random() * 1000) / 10,
        Math.floor(Math.random() * 12),
        Math.random() * 3,
        Math.round(Math.random() * 850),
      ],
      feature_cat: [["rent", "own", "mortgage"][i % 3]!, ["FR", "DE", "ES", "IT", "NL"][i % 5]!],
      feature_bin: Array.from({ length: 8 }, () => Math.floor(Math.random() * 10)),
      feature_hash: randomUUID().replaceAll("-", ""),
      predicted: p > 0.5 ? "default" : "repaid",
      probabilities: [1 - p, p],
      confidence: Math.max(p, 1 - p),
      latency_us: 200 + Math.floor(Math.random() * 2000),
      error: "",
      correlation_id: randomUUID(),
      fallback: "",
      cached: 0,
      job_id: "",
    };
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const tick = () => new Promise<void>((r) => setImmediate(r));

async function main(): Promise<void> {
  const loadAtStart = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-bench-"));
  const store = await openStore(loadConfig({ MLWATCH_DATA_DIR: dir }));
  await migrate(store);
  const count = async (prefix: string) =>
    Number(
      (await store.rows<{ n: number }>(`SELECT count() AS n FROM ${store.table("predictions")} FINAL WHERE startsWith(request_id, {p:String})`, { p: prefix }))[0]?.n,
    );
  try {
    await store.insert("predictions", rows(1_000, "warmup"));

    const direct: { batchRows: number; runs: number[]; medianRowsPerS: number }[] = [];
    for (const batch of BATCHES) {
      const runs: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        const tag = `d${batch}r${r}`;
        const data = rows(Math.max(batch, ROWS_PER_RUN), tag);
        const started = performance.now();
        for (let i = 0; i < data.length; i += batch) await store.insert("predictions", data.slice(i, i + batch));
        const seconds = (performance.now() - started) / 1000;
        runs.push(Math.round(data.length / seconds));
        if ((await count(`${tag}-`)) !== data.length) throw new Error(`direct ${tag}: row count mismatch`);
      }
      direct.push({ batchRows: batch, runs, medianRowsPerS: median(runs) });
    }

    // The engine's own cost for this table, with no client and no parsing: the ceiling of any
    // insert path (10k-row blocks copied from an in-memory table with fresh request ids).
    await store.command(`CREATE TABLE ${store.table("bench_source")} ENGINE = Memory AS SELECT *, rowNumberInAllBlocks() AS bench_row FROM ${store.table("predictions")} LIMIT {n:UInt32}`, { n: ROWS_PER_RUN });
    const engineRuns: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const started = performance.now();
      for (let i = 0; i < ROWS_PER_RUN; i += 10_000) {
        await store.command(
          `INSERT INTO ${store.table("predictions")} SELECT * EXCEPT (bench_row) REPLACE (concat({tag:String}, request_id) AS request_id) FROM ${store.table("bench_source")} WHERE bench_row >= {offset:UInt32} AND bench_row < {offset:UInt32} + 10000 SETTINGS max_insert_threads = 1`,
          { tag: `e${r}-`, offset: i },
        );
      }
      engineRuns.push(Math.round(ROWS_PER_RUN / ((performance.now() - started) / 1000)));
      if ((await count(`e${r}-`)) !== ROWS_PER_RUN) throw new Error(`engine run ${r}: row count mismatch`);
    }
    await store.command(`DROP TABLE ${store.table("bench_source")}`);

    const writerRuns: { rowsPerS: number; appendUsPerRow: number }[] = [];
    for (let r = 0; r < RUNS; r++) {
      const tag = `w${r}`;
      const data = rows(ROWS_PER_RUN, tag);
      const spool = path.join(dir, "spool", `run-${r}`);
      const w = await LogWriter.open<PredictionRow>({ store, table: "predictions", dir: spool, flushRows: 10_000, flushIntervalMs: 1_000 });
      let appendMs = 0;
      const started = performance.now();
      for (let i = 0; i < data.length; i++) {
        const a = performance.now();
        const result = w.append([data[i]!]);
        appendMs += performance.now() - a;
        if (result !== "ok") throw new Error(`append answered ${result}`);
        if (i % 100 === 99) await tick();
      }
      await w.flush();
      const seconds = (performance.now() - started) / 1000;
      const s = w.stats();
      await w.close();
      if (s.flushedRows !== data.length || s.pendingSegments !== 0 || !s.storeWritable) throw new Error(`writer run ${r}: ${JSON.stringify(s)}`);
      if ((await count(`${tag}-`)) !== data.length) throw new Error(`writer ${tag}: row count mismatch`);
      writerRuns.push({ rowsPerS: Math.round(data.length / seconds), appendUsPerRow: Math.round((appendMs * 1000 * 100) / data.length) / 100 });
    }

    const appendOnly: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const data = rows(ROWS_PER_RUN, `a${r}`);
      const w = await LogWriter.open<PredictionRow>({ store, table: "predictions", dir: path.join(dir, "spool", `append-${r}`), flushRows: 10_000_000, flushIntervalMs: 3_600_000 });
      const started = performance.now();
      for (let i = 0; i < data.length; i++) w.append([data[i]!]);
      appendOnly.push(Math.round(((performance.now() - started) * 1000 * 100) / data.length) / 100);
      await w.close();
    }

    const at10k = direct.find((d) => d.batchRows === 10_000)!.medianRowsPerS;
    const result = {
      date: new Date().toISOString(),
      loadAverage: { start: loadAtStart, end: os.loadavg().map((x) => Math.round(x * 100) / 100) },
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "", memGiB: Math.round(os.totalmem() / 1024 ** 3), node: process.version, platform: `${os.platform()} ${os.release()}` },
      store: "embedded chdb, fresh temp directory, predictions table (ReplacingMergeTree)",
      rowsPerRun: ROWS_PER_RUN,
      runs: RUNS,
      direct,
      engineFloor: { what: "INSERT … SELECT of 10k-row blocks from a Memory table: no client, no parsing", runs: engineRuns, medianRowsPerS: median(engineRuns) },
      logWriter: {
        path: "append (1 row per call, event-loop yield every 100 calls) + spool write + background flushes of 10k rows + final flush",
        runs: writerRuns,
        medianRowsPerS: median(writerRuns.map((x) => x.rowsPerS)),
        medianAppendUsPerRow: median(writerRuns.map((x) => x.appendUsPerRow)),
      },
      appendAlone: { what: "LogWriter.append, 1 row per call, no insert running meanwhile", usPerCall: appendOnly, medianUsPerCall: median(appendOnly) },
      target: { rowsPerSAt10kBatches: TARGET_ROWS_PER_S_AT_10K, met: at10k >= TARGET_ROWS_PER_S_AT_10K },
    };

    const fmt = (n: number) => n.toLocaleString("en-US");
    console.log(`ingest into embedded chdb: ${ROWS_PER_RUN.toLocaleString("en-US")} rows per run, median of ${RUNS}`);
    console.log("path                          | rows/s (median) | runs");
    console.log("------------------------------+-----------------+-------------------------------");
    for (const d of direct) console.log(`store.insert, ${fmt(d.batchRows).padStart(7)}-row batch | ${fmt(d.medianRowsPerS).padStart(15)} | ${d.runs.map(fmt).join(", ")}`);
    console.log(`engine alone, INSERT … SELECT  | ${fmt(result.engineFloor.medianRowsPerS).padStart(15)} | ${engineRuns.map(fmt).join(", ")}`);
    console.log(`LogWriter append+spool+flush  | ${fmt(result.logWriter.medianRowsPerS).padStart(15)} | ${writerRuns.map((x) => fmt(x.rowsPerS)).join(", ")}`);
    console.log(`append, 1-row call: ${result.appendAlone.medianUsPerCall} µs alone, ${result.logWriter.medianAppendUsPerRow} µs while flushes run (medians)`);
    console.log(`load average (1/5/15 min) at start ${loadAtStart.join(" ")}, at end ${result.loadAverage.end.join(" ")} on ${os.cpus().length} CPUs`);
    console.log(`target >= ${fmt(TARGET_ROWS_PER_S_AT_10K)} rows/s at 10k-row batches: ${result.target.met ? "met" : "NOT met"} (${fmt(at10k)})`);

    writeResult("ingest", result);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
