/**
 * Sustained load with prediction logging on, against `mlwatch serve` as a real child process (its
 * own data directory and store). Reports throughput, p50/p99, the server's RSS over time, and rows
 * lost: every request id answered 200 is looked up in the store after the run.
 * Run: npx tsx bench/load.ts [--seconds 60] [--connections 16]
 * Prints its figures and writes bench/results/load.json.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../config.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import { openStore } from "../store/client.ts";
import { driveLoad, percentile } from "../test/helpers/load-driver.ts";
import { metricValue } from "../test/helpers/prom-text.ts";
import { runCli, startServe } from "../test/helpers/serve-process.ts";

const arg = (name: string, fallback: number) => Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) || fallback;
const seconds = arg("seconds", 60);
const connections = arg("connections", 16);
const SAMPLE_MS = 5000;

interface RssSample {
  atSeconds: number;
  rssMb: number;
  answered: number;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-load-"));
  const env = { MLWATCH_DATA_DIR: dir, LOG_LEVEL: "warn" };
  try {
    await runCli(["train", "--name", "credit", "--rows", "5000"], env);
    const server = await startServe(env);
    const deploy = await fetch(`${server.url}/v1/admin/models/credit/deploy`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ version: "1", role: "primary", actor: "bench", reason: "load" }),
    });
    if (deploy.status !== 200) throw new Error(`deploy answered ${deploy.status}`);

    const rows = generateCredit(2000, 77).examples.map((e) => e.row);
    const started = Date.now();
    const endAt = started + seconds * 1000;
    const load = driveLoad({ url: server.url, model: "credit", rows, concurrency: connections, idPrefix: "load", stop: () => Date.now() >= endAt });
    const rss: RssSample[] = [];
    const answeredSoFar = async () => metricValue(await (await fetch(`${server.url}/metrics`)).text(), "model_predictions_total");
    while (Date.now() < endAt) {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      rss.push({ atSeconds: Math.round((Date.now() - started) / 1000), rssMb: Math.round(metricValue(text, "process_resident_memory_bytes") / 2 ** 20), answered: metricValue(text, "model_predictions_total") });
      await sleep(Math.min(SAMPLE_MS, Math.max(0, endAt - Date.now())));
    }
    const result = await load;
    const elapsed = (Date.now() - started) / 1000;
    const served = await answeredSoFar();
    await waitForEmptySpool(server.url);
    await server.stop("SIGTERM");

    const store = await openStore(loadConfig({ MLWATCH_DATA_DIR: dir }));
    const found = await store.rows<{ request_id: string }>(`SELECT DISTINCT request_id FROM ${store.table("predictions")} FINAL WHERE startsWith(request_id, 'load-')`);
    await store.close();
    const stored = new Set(found.map((r) => r.request_id));
    const lost = result.answered.filter((id) => !stored.has(id)).length;

    const first = rss.slice(1, 3).reduce((a, s) => a + s.rssMb, 0) / Math.max(1, rss.slice(1, 3).length);
    const last = rss.slice(-2).reduce((a, s) => a + s.rssMb, 0) / Math.max(1, rss.slice(-2).length);
    const summary = {
      when: new Date().toISOString(),
      loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
      seconds: Number(elapsed.toFixed(1)),
      connections,
      sent: result.sent,
      answered: result.answered.length,
      servedByMetrics: served,
      failed: result.failed,
      reqPerSec: Math.round(result.answered.length / elapsed),
      p50Ms: Number(percentile(result.latenciesMs, 50).toFixed(1)),
      p99Ms: Number(percentile(result.latenciesMs, 99).toFixed(1)),
      rowsInStore: stored.size,
      rowsLost: lost,
      rssMb: rss,
      rssTrendMb: Math.round(last - first),
    };
    console.log(JSON.stringify({ ...summary, rssMb: rss.map((s) => `${s.atSeconds}s:${s.rssMb}MB`).join(" ") }, null, 1));
    fs.mkdirSync(path.join(import.meta.dirname, "results"), { recursive: true });
    fs.writeFileSync(path.join(import.meta.dirname, "results", "load.json"), JSON.stringify(summary, null, 2) + "\n");
    if (lost > 0) process.exitCode = 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Every answered row is in the store once the spool holds nothing and the writer is not behind. */
async function waitForEmptySpool(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const ready = (await (await fetch(`${url}/readyz`)).json()) as { log: string; writers: { predictions: { pendingSegments: number; buffered: number } } };
    if (ready.log === "store" && ready.writers.predictions.pendingSegments === 0 && ready.writers.predictions.buffered === 0) return;
    await sleep(100);
  }
  throw new Error("the spool did not drain within 60 s");
}

await main();
