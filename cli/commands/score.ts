import fs from "node:fs";
import os from "node:os";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "../command.ts";
import { CommandError, parse, UsageError } from "../command.ts";
import { adminApi } from "../admin-api.ts";

interface JobStatus {
  job_id: string;
  status: "queued" | "running" | "succeeded" | "failed" | "cancelled";
  rows_total: number;
  rows_done: number;
  rows_failed: number;
  error: string;
}

const POLL_MS = 500;

export const scoreCommand: Command = {
  name: "score",
  summary: "score a CSV file as a batch job of the running serve, at low priority",
  usage: `usage: mlwatch score <model> <file.csv> [--out predictions.csv] [--as NAME]

Uploads <file.csv> to the running \`mlwatch serve\` as a batch job (POST /v1/models/<model>/jobs),
follows its progress on stderr and writes the predictions as CSV to --out (default: stdout): row,
request_id, version, predicted, confidence, one p_<class> column per class, error. The header must
name every feature of the model's primary (other columns are ignored); a missing one is refused
before any row is scored. Rows are scored through the serving path in small chunks that yield to
interactive requests, and logged like any prediction with the job id. Interrupting this command
does not stop the job: it goes on in serve (POST /v1/jobs/<id>/cancel stops it), and survives a
restart of serve.

Talks to serve's API at MLWATCH_INFERENCE_URL, else http://127.0.0.1:$MLWATCH_PORT, with
MLWATCH_ADMIN_TOKEN as the bearer token.`,
  async run(argv) {
    const { values, positionals } = parse(argv, { out: { type: "string" }, as: { type: "string" } }, true);
    if (positionals.length !== 2) throw new UsageError(`score needs <model> <file.csv>${positionals.length > 2 ? `; unexpected '${positionals[2]}'` : ""}`);
    const [model, file] = positionals as [string, string];
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) throw new UsageError(`no file '${file}'`);
    const api = adminApi();
    const by = encodeURIComponent(values.as ?? person());
    const submitted = await api.request(`/v1/models/${encodeURIComponent(model)}/jobs?submitted_by=${by}`, {
      method: "POST",
      body: await fs.openAsBlob(file),
      contentType: "text/csv",
      timeoutMs: 3_600_000,
    });
    const job = (await submitted.json()) as JobStatus;
    console.error(`mlwatch score: job ${job.job_id} queued (${job.rows_total} rows)`);
    const done = await follow(api, job.job_id);
    if (done.status !== "succeeded") throw new CommandError(`job ${done.job_id} ${done.status}${done.error ? `: ${done.error}` : ""}`);
    const result = await api.request(`/v1/jobs/${done.job_id}/result`, { method: "GET", timeoutMs: 3_600_000 });
    await pipeline(Readable.fromWeb(result.body as import("node:stream/web").ReadableStream), values.out ? fs.createWriteStream(values.out) : process.stdout);
    console.error(`mlwatch score: ${done.rows_done} rows scored, ${done.rows_failed} refused${values.out ? `, written to ${values.out}` : ""}`);
  },
};

async function follow(api: ReturnType<typeof adminApi>, jobId: string): Promise<JobStatus> {
  let shown = -1;
  for (;;) {
    const job = (await api.get(`/v1/jobs/${jobId}`)) as JobStatus;
    if (job.rows_done !== shown) {
      console.error(`mlwatch score: ${job.status} ${job.rows_done}/${job.rows_total} rows`);
      shown = job.rows_done;
    }
    if (job.status !== "queued" && job.status !== "running") return job;
    await sleep(POLL_MS);
  }
}

function person(): string {
  try {
    return os.userInfo().username || "cli";
  } catch {
    return "cli";
  }
}
