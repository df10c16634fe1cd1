/**
 * Serving throughput and latency against the real inference service on loopback.
 * The load generator (autocannon) runs in its own process so it does not share the server's event
 * loop. Run: npx tsx bench/serving.ts [--seconds 5] [--rates 2000,5000]
 * Closed loop (each connection sends its next request when the last is answered) at 1/10/50
 * connections, then at each fixed offered rate (50 connections, 1-row bodies, logging on; autocannon
 * paces each connection, so 10 at ~2 ms each could not offer more than ~5,000 req/s)
 * with the server's event-loop delay sampled at 1 ms resolution over the same seconds: the tails at
 * a rate the service can carry, where queueing alone does not explain them.
 * Prints a table and writes bench/results/serving.json.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { InferenceService } from "../inference/service.ts";
import { admin, autocannon, benchService, predictBody } from "./lib/serving-setup.ts";
import { writeResult } from "./write-result.ts";

const seconds = Number(process.argv[process.argv.indexOf("--seconds") + 1]) || 5;
const rates = (process.argv.includes("--rates") ? process.argv[process.argv.indexOf("--rates") + 1]! : "2000,5000").split(",").map(Number);

interface Case {
  logging: boolean;
  connections: number;
  batch: number;
  reqPerSec: number;
  rowsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

interface FixedRateCase {
  offeredPerSec: number;
  answeredPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  non2xx: number;
  errors: number;
}

async function main() {
  const bodies = { 1: predictBody(1), 32: predictBody(32) };
  const cases: Case[] = [];
  const fixedRate: FixedRateCase[] = [];
  let rollback = { changes: 0, requests: 0, non2xx: 0, errors: 0 };
  for (const logging of [true, false]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-bench-serving-"));
    const { store, svc, version, second } = await benchService(dir, { MLWATCH_LOG_PREDICTIONS: logging ? "1" : "0" });
    const url = `${svc.url}/v1/models/credit/predict`;
    await autocannon(url, bodies[1], 10, 2); // warm-up
    for (const batch of [1, 32] as const) {
      for (const connections of [1, 10, 50]) {
        const r = await autocannon(url, bodies[batch], connections, seconds);
        const c = { logging, connections, batch, reqPerSec: r.requests.average, rowsPerSec: r.requests.average * batch, p50Ms: r.latency.p50, p99Ms: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
        cases.push(c);
        console.log(JSON.stringify(c));
      }
    }
    if (logging) fixedRate.push(...(await atFixedRates(url, bodies[1])));
    if (logging) rollback = await rollbackUnderLoad(svc, url, bodies[1], version, second);
    await svc.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  report(cases, fixedRate, rollback);
}

async function atFixedRates(url: string, body: string): Promise<FixedRateCase[]> {
  const out: FixedRateCase[] = [];
  for (const offeredPerSec of rates) {
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const r = await autocannon(url, body, 50, seconds, offeredPerSec);
    delay.disable();
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    const c = {
      offeredPerSec,
      answeredPerSec: r.requests.average,
      p50Ms: r.latency.p50,
      p99Ms: r.latency.p99,
      maxMs: r.latency.max,
      eventLoopDelayMs: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
      non2xx: r.non2xx,
      errors: r.errors,
    };
    out.push(c);
    console.log(JSON.stringify(c));
  }
  return out;
}

/** Flip the primary back and forth under 50 connections; every request must still succeed. */
async function rollbackUnderLoad(svc: InferenceService, url: string, body: string, v1: string, v2: string) {
  const load = autocannon(url, body, 50, seconds * 2);
  let changes = 0;
  const end = Date.now() + seconds * 2000 - 500;
  await new Promise((r) => setTimeout(r, 300));
  while (Date.now() < end) {
    await admin(svc, "deploy", { version: changes % 2 === 0 ? v2 : v1, role: "primary" });
    changes++;
    await new Promise((r) => setTimeout(r, 200));
  }
  const r = await load;
  return { changes, requests: Math.round(r.requests.average * seconds * 2), non2xx: r.non2xx, errors: r.errors };
}

function report(cases: Case[], fixedRate: FixedRateCase[], rollback: { changes: number; requests: number; non2xx: number; errors: number }) {
  console.log("\nlogging  batch  conns  req/s     rows/s     p50 ms  p99 ms  non2xx");
  for (const c of cases) {
    console.log(
      `${(c.logging ? "on" : "off").padEnd(7)}  ${String(c.batch).padEnd(5)}  ${String(c.connections).padEnd(5)}  ${c.reqPerSec.toFixed(0).padEnd(8)}  ${c.rowsPerSec.toFixed(0).padEnd(9)}  ${String(c.p50Ms).padEnd(6)}  ${String(c.p99Ms).padEnd(6)}  ${c.non2xx + c.errors}`,
    );
  }
  const cost = [1, 32].flatMap((batch) =>
    [1, 10, 50].map((connections) => {
      const on = cases.find((c) => c.logging && c.batch === batch && c.connections === connections)!;
      const off = cases.find((c) => !c.logging && c.batch === batch && c.connections === connections)!;
      return { batch, connections, loggingCostPct: (1 - on.reqPerSec / off.reqPerSec) * 100 };
    }),
  );
  console.log("\nlogging cost (throughput lost with logging on):");
  for (const c of cost) console.log(`  batch ${c.batch}, ${c.connections} conns: ${c.loggingCostPct.toFixed(1)}%`);
  console.log("\nfixed offered rate, 50 conns, 1 row, logging on: offered  answered  p50/p99/max ms  event-loop delay p50/p99/max ms  failed");
  for (const c of fixedRate) {
    const d = c.eventLoopDelayMs;
    console.log(`  ${c.offeredPerSec}  ${c.answeredPerSec.toFixed(0)}  ${c.p50Ms}/${c.p99Ms}/${c.maxMs}  ${d.p50}/${d.p99}/${d.max}  ${c.non2xx + c.errors}`);
  }
  console.log(`\nrollback under load: ${rollback.changes} primary changes during ${rollback.requests} requests at 50 conns: ${rollback.non2xx + rollback.errors} failed`);
  console.log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  writeResult("serving", { date: new Date().toISOString(), machine: `${os.cpus().length} cores`, load: os.loadavg(), seconds, cases, fixedRate, loggingCost: cost, rollback });
}

await main();
