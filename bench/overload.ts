/**
 * Overload: the service at about four times what it carries, with logging on.
 *
 *   npx tsx bench/overload.ts [--seconds 5] [--factor 4] [--batch 32]
 *
 * 1. Capacity: closed-loop requests of `--batch` rows at 10 connections (autocannon), req/s.
 * 2. Overload: open-loop requests at factor × capacity from a client in its own process
 *    (bench/lib/open-loop-client.ts), each timed from when it was due.
 * Prints offered, admitted (200), shed (503 with Retry-After), p99 of the admitted, and rows logged
 * for the admitted (every 200's rows looked up in the store after a flush), with shedding on
 * (MLWATCH_MAX_IN_FLIGHT = capacity × 10 ms: the queue a 10 ms budget holds) and off (0).
 * Writes bench/results/overload.json.
 *
 * Why 32-row bodies by default: client and server share this machine's two cores, and a Node client
 * cannot offer four times what a single-row server carries (measured: it fell ~15 s behind at
 * 30,000 req/s, so its latencies were its own). With 32 rows the server's work per request is ~30×
 * the client's, and the overload is the server's.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { autocannon, benchService, predictBody } from "./lib/serving-setup.ts";
import { writeResult } from "./write-result.ts";

const run = promisify(execFile);
const arg = (name: string, fallback: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback);
const seconds = arg("--seconds", 5);
const factor = arg("--factor", 4);
const batch = arg("--batch", 32);

interface OpenLoopResult {
  offeredPerSec: number;
  sent: number;
  unanswered: number;
  byStatus: Record<string, number>;
  admitted: { n: number; p50Ms: number | null; p99Ms: number | null; maxMs: number | null };
  shed: { n: number; p99Ms: number | null };
  shedWithRetryAfter: number;
}

/** chdb binds one data directory per process, so every phase reopens the same one; request-id prefixes keep their rows apart. */
async function overloadCase(dir: string, maxInFlight: string, rate: number, body: string) {
  const { store, svc } = await benchService(dir, { MLWATCH_MAX_IN_FLIGHT: maxInFlight });
  try {
    const url = `${svc.url}/v1/models/credit/predict`;
    const prefix = `overload-${maxInFlight}`;
    const client = path.join(import.meta.dirname, "lib", "open-loop-client.ts");
    const { stdout } = await run(process.execPath, ["--import", "tsx", client, url, String(rate), String(seconds), prefix, body], { maxBuffer: 16 * 1024 * 1024 });
    const r = JSON.parse(stdout) as OpenLoopResult;
    await svc.predictions.flush();
    const [logged] = await store.rows<{ n: number }>(`SELECT count() AS n FROM ${store.table("predictions")} FINAL WHERE startsWith(request_id, {p:String})`, { p: `${prefix}-` });
    return { maxInFlight: Number(maxInFlight), ...r, rowsLogged: Number(logged!.n), // Requests the client stopped waiting for may still be answered and logged, so more rows than the
    // 200s hold is no loss; a 200 whose rows are missing is.
    admittedRowsLost: Math.max(0, (r.byStatus["200"] ?? 0) * batch - Number(logged!.n)) };
  } finally {
    await svc.close();
    await store.close();
  }
}

async function main(): Promise<void> {
  const load = os.loadavg().map((x) => Math.round(x * 100) / 100);
  const body = predictBody(batch);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-bench-overload-"));
  const { store, svc } = await benchService(dir, {});
  const url = `${svc.url}/v1/models/credit/predict`;
  await autocannon(url, body, 10, 2);
  const capacity = Math.round((await autocannon(url, body, 10, seconds)).requests.average);
  await svc.close();
  await store.close();

  const rate = capacity * factor;
  const bound = Math.max(1, Math.round(capacity * 0.01));
  const cases = [await overloadCase(dir, String(bound), rate, body), await overloadCase(dir, "0", rate, body)];
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`capacity (closed loop, 10 connections, ${batch} rows a request, logging on): ${capacity} req/s; offered ${rate} req/s for ${seconds} s`);
  console.log("max in flight | sent | admitted 200 | shed 503 (Retry-After) | unanswered after 15 s | errors | admitted p50/p99/max ms | rows logged | rows of 200s not logged");
  for (const c of cases) {
    const a = c.admitted;
    console.log(`${c.maxInFlight === 0 ? "off" : c.maxInFlight} | ${c.sent} | ${a.n} | ${c.shed.n} (${c.shedWithRetryAfter}) | ${c.unanswered} | ${c.byStatus.error ?? 0} | ${a.p50Ms}/${a.p99Ms}/${a.maxMs} | ${c.rowsLogged} | ${c.admittedRowsLost}`);
  }
  const end = os.loadavg().map((x) => Math.round(x * 100) / 100);
  console.log(`load average at start ${load.join(" ")}, at end ${end.join(" ")}`);
  writeResult("overload", { date: new Date().toISOString(), loadAverage: { start: load, end }, seconds, factor, batch, capacityPerSec: capacity, cases });
}

await main();
