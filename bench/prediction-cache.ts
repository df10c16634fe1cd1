/**
 * Whether the prediction cache pays: req/s and p50/p99 of /predict with MLWATCH_PREDICTION_CACHE
 * off and on, for 1-row and 32-row bodies, at a 100% hit rate (the same rows repeated) and a 0% hit
 * rate (every row new, so the cache only costs). The load generator runs in its own process.
 * Run: npx tsx bench/prediction-cache.ts [--seconds 3] [--connections 8]
 * Prints a table and writes bench/results/prediction-cache.json.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generateCredit } from "../models/datasets/credit.ts";
import { predictLoad } from "./lib/closed-loop.ts";
import { benchService } from "./lib/serving-setup.ts";
import { writeResult } from "./write-result.ts";

const arg = (name: string, fallback: number) => Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) || fallback;
const seconds = arg("seconds", 3);
const connections = arg("connections", 8);

interface Case {
  cache: boolean;
  batch: number;
  hitRate: 0 | 1;
  reqPerSec: number;
  rowsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
}

async function measure(cache: boolean): Promise<Case[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-bench-cache-"));
  const { store, svc } = await benchService(dir, { MLWATCH_PREDICTION_CACHE: cache ? "1" : "0" });
  const url = `${svc.url}/v1/models/credit/predict`;
  const rows = generateCredit(32, 7).examples.map((e) => e.row);
  const load = (batch: number, fresh: boolean, s = seconds) => predictLoad({ url, rows: rows.slice(0, batch), batch, concurrency: connections, seconds: s, fresh });
  await load(1, false, 1); // warm-up
  const cases: Case[] = [];
  for (const batch of [1, 32]) {
    for (const hitRate of [1, 0] as const) {
      const r = await load(batch, hitRate === 0);
      const c = { cache, batch, hitRate, reqPerSec: r.reqPerSec, rowsPerSec: r.reqPerSec * batch, p50Ms: r.p50Ms, p99Ms: r.p99Ms, failed: r.failed };
      console.log(JSON.stringify(c));
      cases.push(c);
    }
  }
  await svc.close();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return cases;
}

const loadBefore = os.loadavg()[0]!;
const cases = [...(await measure(false)), ...(await measure(true))];
const loadAfter = os.loadavg()[0]!;
console.log(`\nload average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}, ${connections} connections, ${seconds} s per case`);
console.log("batch  hit rate  req/s off  req/s on  gain    p99 ms off  p99 ms on");
const gains = [1, 32].flatMap((batch) =>
  [1, 0].map((hitRate) => {
    const off = cases.find((c) => !c.cache && c.batch === batch && c.hitRate === hitRate)!;
    const on = cases.find((c) => c.cache && c.batch === batch && c.hitRate === hitRate)!;
    const gainPct = (on.reqPerSec / off.reqPerSec - 1) * 100;
    console.log(`${String(batch).padEnd(5)}  ${`${hitRate * 100}%`.padEnd(8)}  ${off.reqPerSec.toFixed(0).padEnd(9)}  ${on.reqPerSec.toFixed(0).padEnd(8)}  ${`${gainPct.toFixed(1)}%`.padEnd(6)}  ${off.p99Ms.toFixed(1).padEnd(10)}  ${on.p99Ms.toFixed(1)}`);
    return { batch, hitRate, gainPct };
  }),
);
writeResult("prediction-cache", { date: new Date().toISOString(), machine: `${os.cpus().length} cores`, loadAverage: [loadBefore, loadAfter], seconds, connections, cases, gains });
