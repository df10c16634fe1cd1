/**
 * Whether a batch job leaves interactive requests their latency: p50/p99 and req/s of 1-row
 * /predict requests (the load generator in its own process) with no job running, then while a job
 * of --rows rows is scored, and how fast the job went meanwhile: its status right after the loaded
 * run, the rows it had scored by then and rows/s over created_at → updated_at (the job route reports
 * rows_done as of its last checkpoint, written about once a second, stamped updated_at).
 * Run: npx tsx bench/batch-jobs.ts [--rows 1000000] [--seconds 10] [--connections 4]
 * Prints a table and writes bench/results/batch-jobs.json.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { generateCredit } from "../models/datasets/credit.ts";
import { predictLoad } from "./lib/closed-loop.ts";
import { ADMIN_TOKEN, benchService } from "./lib/serving-setup.ts";
import { writeResult } from "./write-result.ts";

const arg = (name: string, fallback: number) => Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) || fallback;
const rowsInJob = arg("rows", 1_000_000);
const seconds = arg("seconds", 10);
const connections = arg("connections", 4);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-bench-jobs-"));
const { store, svc } = await benchService(dir, {});

const interactiveRows = generateCredit(256, 7).examples.map((e) => e.row);
const file = path.join(dir, "job.csv");
writeJobFile(file, rowsInJob);
const load = () => predictLoad({ url: `${svc.url}/v1/models/credit/predict`, rows: interactiveRows, batch: 1, concurrency: connections, seconds, fresh: false });

const loadBefore = os.loadavg()[0]!;
await predictLoad({ url: `${svc.url}/v1/models/credit/predict`, rows: interactiveRows, batch: 1, concurrency: connections, seconds: 1, fresh: false }); // warm-up
const alone = await load();
const submitted = await jobApi(`/v1/models/credit/jobs`, { method: "POST", headers: { "content-type": "text/csv" }, body: await fs.openAsBlob(file) });
const withJob = await load();
const during = await jobApi(`/v1/jobs/${submitted.job_id}`);
// rows_done is the checkpoint stamped updated_at, so the rate runs from submission to that stamp.
const jobSeconds = (Date.parse(during.updated_at) - Date.parse(during.created_at)) / 1000;
const jobRowsPerSec = jobSeconds > 0 ? during.rows_done / jobSeconds : 0;
const checkpointAgeMs = Date.now() - Date.parse(during.updated_at);
const loadAfter = os.loadavg()[0]!;
await svc.close();
await store.close();
fs.rmSync(dir, { recursive: true, force: true });

console.log(`\nload average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}; ${connections} connections, ${seconds} s each; job of ${rowsInJob} rows`);
console.log("                 req/s    p50 ms  p99 ms  failed");
for (const [name, r] of [["no job", alone], ["job running", withJob]] as const) {
  console.log(`${name.padEnd(15)}  ${r.reqPerSec.toFixed(0).padEnd(7)}  ${r.p50Ms.toFixed(1).padEnd(6)}  ${r.p99Ms.toFixed(1).padEnd(6)}  ${r.failed}`);
}
console.log(
  `job meanwhile: ${during.status}, ${during.rows_done} of ${during.rows_total} rows scored, ${jobRowsPerSec.toFixed(0)} rows/s ` +
    `(over ${jobSeconds.toFixed(1)} s to its last checkpoint, ${checkpointAgeMs} ms before the status was read)`,
);
writeResult("batch-jobs", { date: new Date().toISOString(), machine: `${os.cpus().length} cores`, loadAverage: [loadBefore, loadAfter], rowsInJob, seconds, connections, alone, withJob, job: { ...during, rowsPerSec: jobRowsPerSec, seconds: jobSeconds, checkpointAgeMs } });

/** The job's fields the bench reads, as GET /v1/jobs/:id answers them (inference/routes/jobs.ts). */
interface JobStatus {
  job_id: string;
  status: string;
  rows_total: number;
  rows_done: number;
  rows_failed: number;
  error: string;
  created_at: string;
  updated_at: string;
}

/** A job route with the admin token (the job API is behind it); a refusal stops the bench instead of becoming undefined figures. */
async function jobApi(route: string, init: RequestInit = {}): Promise<JobStatus> {
  const res = await fetch(`${svc.url}${route}`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${ADMIN_TOKEN}` } });
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${route}: ${res.status} ${await res.text()}`);
  return (await res.json()) as JobStatus;
}

function writeJobFile(target: string, rows: number): void {
  const examples = generateCredit(Math.min(rows, 10_000), 3).examples.map((e) => e.row);
  const columns = Object.keys(examples[0]!);
  const fd = fs.openSync(target, "w");
  fs.writeSync(fd, columns.join(",") + "\n");
  for (let i = 0; i < rows; i += 10_000) {
    const lines = examples.slice(0, Math.min(10_000, rows - i)).map((r) => columns.map((c) => (r[c] === null ? "" : String(r[c]))).join(","));
    fs.writeSync(fd, lines.join("\n") + "\n");
  }
  fs.closeSync(fd);
}
