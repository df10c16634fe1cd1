/**
 * Closed-loop /predict load for the benches, run as its own process (bench/lib/closed-loop.ts
 * starts it) so it never shares the server's event loop. `concurrency` loops each send one request
 * after another for `seconds`; with `fresh`, every row gets a categorical value never sent before,
 * so no row repeats (autocannon's -I sends nothing on this machine's version). Prints one JSON line.
 */
import { performance } from "node:perf_hooks";
import { z } from "zod";

const optionsSchema = z.object({
  url: z.string(),
  rows: z.array(z.record(z.string(), z.unknown())).min(1),
  batch: z.number().int().min(1),
  concurrency: z.number().int().min(1),
  seconds: z.number().positive(),
  fresh: z.boolean(),
});

const o = optionsSchema.parse(JSON.parse(process.argv[2] ?? "{}"));
let sent = 0;
let failed = 0;
const latencies: number[] = [];
const deadline = performance.now() + o.seconds * 1000;

function body(): string {
  const n = sent++;
  const rows = Array.from({ length: o.batch }, (_, i) => {
    const row = o.rows[(n * o.batch + i) % o.rows.length]!;
    return o.fresh ? { ...row, loan_purpose: `fresh-${n}-${i}` } : row;
  });
  return JSON.stringify(o.batch === 1 ? { features: rows[0] } : { instances: rows });
}

async function loop(): Promise<void> {
  while (performance.now() < deadline) {
    const started = performance.now();
    try {
      const res = await fetch(o.url, { method: "POST", headers: { "content-type": "application/json" }, body: body() });
      await res.arrayBuffer();
      if (res.ok) latencies.push(performance.now() - started);
      else failed++;
    } catch {
      failed++;
    }
  }
}

const began = performance.now();
await Promise.all(Array.from({ length: o.concurrency }, loop));
const elapsedS = (performance.now() - began) / 1000;
latencies.sort((a, b) => a - b);
const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.ceil(latencies.length * q) - 1)] ?? 0;
console.log(JSON.stringify({ requests: latencies.length, reqPerSec: latencies.length / elapsedS, p50Ms: at(0.5), p99Ms: at(0.99), failed }));
