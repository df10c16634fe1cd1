import { randomUUID } from "node:crypto";
import fs from "node:fs";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { getVersion } from "../../models/registry.ts";
import type { ModelSchema, Row } from "../../models/schema.ts";
import type { Store } from "../../store/client.ts";
import { nowMicros } from "../../store/clock.ts";
import type { JobRow } from "../../store/jobs-table.ts";
import { PredictError, type Predictor, type RowOutcome } from "../predictor.ts";
import type { TrafficController } from "../traffic.ts";
import { validateRows } from "../validate-rows.ts";
import { csvRecords, type CsvRecordAt } from "./csv-records.ts";
import { JobError, jobPaths, planColumns, receiveUpload, rowOf, type ColumnPlan } from "./job-files.ts";
import { getJob, saveJob, unfinishedJobs } from "./job-store.ts";

export interface JobRunnerOptions {
  store: Store;
  predictor: Predictor;
  traffic: TrafficController;
  dataDir: string;
  chunkRows: number;
  maxBytes: number;
  onError: (jobId: string, err: unknown) => void;
}

/** How long a chunk waits for interactive requests to drain before it goes anyway, so a job still ends under steady load. */
const MAX_YIELD_MS = 50;
/** Progress is written to the store at most this often (and at every end): a restart re-scores at most this much. */
const CHECKPOINT_MS = 1000;

/**
 * Batch scoring jobs: a CSV scored through the serving path (routing, fallback, cache, logging
 * with the job id), one job at a time, in chunks of `chunkRows` rows. Before each chunk the job
 * yields the event loop and waits while interactive requests are in flight (up to MAX_YIELD_MS),
 * so they keep their latency. State lives in the `jobs` table and the files under the data
 * directory; a restarted service resumes its unfinished jobs from their last checkpoint.
 */
export class JobRunner {
  private readonly owner: string;
  private readonly queue: string[] = [];
  private readonly cancelled = new Set<string>();
  private loop: Promise<void> | undefined;
  /** The job being scored, and when its run ends. */
  private current: { id: string; done: Promise<void> } | undefined;
  private stopping = false;

  constructor(private readonly o: JobRunnerOptions) {
    this.owner = o.dataDir;
  }

  /** Resumes the jobs a previous process left; one whose input is gone fails, saying so. */
  async start(): Promise<void> {
    for (const job of await unfinishedJobs(this.o.store, this.owner)) {
      if (fs.existsSync(jobPaths(this.o.dataDir, job.job_id).input)) this.enqueue(job.job_id);
      else await saveJob(this.o.store, { ...job, status: "failed", error: `the input file is gone from ${jobPaths(this.o.dataDir, job.job_id).input}; submit the file again` });
    }
  }

  /** Stores the upload, checks its header against the primary's schema before any row is scored, and queues it. */
  async submit(model: string, body: Readable, submittedBy: string): Promise<JobRow> {
    const schema = await this.primarySchema(model);
    const jobId = `job-${randomUUID()}`;
    const paths = jobPaths(this.o.dataDir, jobId);
    try {
      const { records } = await receiveUpload(body, paths.input, this.o.maxBytes);
      await planColumns(paths.input, schema);
      const now = nowMicros();
      const job = await saveJob(this.o.store, {
        job_id: jobId,
        model,
        status: "queued",
        owner: this.owner,
        submitted_by: submittedBy,
        rows_total: Math.max(0, records - 1),
        rows_done: 0,
        rows_failed: 0,
        input_offset: 0,
        output_bytes: 0,
        error: "",
        created_at: now,
        updated_at: now,
      });
      this.enqueue(jobId);
      return job;
    } catch (err) {
      fs.rmSync(paths.dir, { recursive: true, force: true });
      throw err;
    }
  }

  async status(jobId: string): Promise<JobRow> {
    const job = await getJob(this.o.store, jobId);
    if (!job) throw new JobError(404, "not_found", "id", `no job '${jobId}'`);
    return job;
  }

  /** A queued job is cancelled at once, a running one before its next chunk (this waits for that); a finished one cannot be. */
  async cancel(jobId: string): Promise<JobRow> {
    const job = await this.status(jobId);
    if (job.status !== "queued" && job.status !== "running") throw new JobError(409, "conflict", "id", `job '${jobId}' is already ${job.status}`);
    if (this.current?.id !== jobId) return saveJob(this.o.store, { ...job, status: "cancelled" });
    this.cancelled.add(jobId);
    await this.current.done;
    return this.status(jobId);
  }

  /** The output file of a job that succeeded. */
  async resultFile(jobId: string): Promise<string> {
    const job = await this.status(jobId);
    if (job.status !== "succeeded") {
      const progress = job.rows_total ? ` (${job.rows_done} of ${job.rows_total} rows)` : "";
      throw new JobError(409, "not_ready", "id", `job '${jobId}' is ${job.status}${progress}${job.error ? `: ${job.error}` : ""}; the result is served once it has succeeded`);
    }
    return jobPaths(this.o.dataDir, jobId).output;
  }

  /** Stops after the current chunk; the running job keeps its checkpoint and status, so the next start resumes it. */
  async close(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  private enqueue(jobId: string): void {
    this.queue.push(jobId);
    this.loop ??= this.drain().finally(() => (this.loop = undefined));
  }

  private async drain(): Promise<void> {
    for (let id = this.queue.shift(); id && !this.stopping; id = this.queue.shift()) {
      try {
        const job = await this.status(id);
        // A job cancelled while queued is already marked so.
        if (job.status !== "queued" && job.status !== "running") continue;
        const done = this.run(job);
        this.current = { id, done: done.catch(() => undefined) };
        await done;
      } catch (err) {
        this.o.onError(id, err);
        const job = await getJob(this.o.store, id).catch(() => undefined);
        if (job) await saveJob(this.o.store, { ...job, status: "failed", error: err instanceof Error ? err.message : String(err) }).catch(() => undefined);
      } finally {
        this.current = undefined;
      }
    }
  }

  private async run(start: JobRow): Promise<void> {
    const paths = jobPaths(this.o.dataDir, start.job_id);
    const schema = await this.primarySchema(start.model);
    const plan = await planColumns(paths.input, schema);
    let job: JobRow = { ...start, status: "running" };
    // Rows written after the last checkpoint are cut off and scored again.
    if (fs.existsSync(paths.output)) fs.truncateSync(paths.output, job.output_bytes);
    const fd = fs.openSync(paths.output, "a");
    try {
      if (job.output_bytes === 0) job.output_bytes += fs.writeSync(fd, headerLine(schema));
      job = await saveJob(this.o.store, job);
      let saved = Date.now();
      let chunk: CsvRecordAt[] = [];
      let header = job.input_offset === 0;
      for await (const record of csvRecords(paths.input, job.input_offset)) {
        if (header) {
          header = false;
          job.input_offset = record.end;
          continue;
        }
        chunk.push(record);
        if (chunk.length < this.o.chunkRows) continue;
        job = await this.scoreChunk(job, chunk, plan, schema, fd);
        chunk = [];
        if (this.cancelled.has(job.job_id) || this.stopping) break;
        if (Date.now() - saved >= CHECKPOINT_MS) {
          job = await saveJob(this.o.store, job);
          saved = Date.now();
        }
      }
      if (chunk.length > 0 && !this.cancelled.has(job.job_id) && !this.stopping) job = await this.scoreChunk(job, chunk, plan, schema, fd);
    } finally {
      fs.closeSync(fd);
    }
    if (this.cancelled.has(job.job_id)) await this.finishCancelled(job);
    else await saveJob(this.o.store, this.stopping ? job : { ...job, status: "succeeded" });
  }

  private async scoreChunk(job: JobRow, records: CsvRecordAt[], plan: ColumnPlan, schema: ModelSchema, fd: number): Promise<JobRow> {
    await this.yieldToInteractive();
    const first = job.rows_done + 1;
    const rows = records.map((r) => rowOf(r.fields, plan));
    const invalid = rows.map((row) => validateRows([row], schema)[0]);
    const valid = rows.flatMap((row, i) => (invalid[i] ? [] : [{ row, n: first + i }]));
    const answered = valid.length > 0 ? await this.predict(job, valid) : { version: "", outcomes: [] as (RowOutcome | string)[] };
    const lines: string[] = [];
    let next = 0;
    let failed = 0;
    rows.forEach((_, i) => {
      const bad = invalid[i];
      const outcome = bad ? `${bad.field.replace(/^instances\[0\]\./, "")}: ${bad.reason}` : answered.outcomes[next++]!;
      if (typeof outcome === "string") failed++;
      lines.push(outputLine(first + i, `${job.job_id}-${first + i}`, answered.version, outcome, schema.classes.length));
    });
    const written = fs.writeSync(fd, lines.join(""));
    return { ...job, rows_done: job.rows_done + rows.length, rows_failed: job.rows_failed + failed, input_offset: records.at(-1)!.end, output_bytes: job.output_bytes + written };
  }

  /** The rows' answers, or for each the reason the serving path refused them; a refusal that ends the job throws. */
  private async predict(job: JobRow, valid: { row: Row; n: number }[]): Promise<{ version: string; outcomes: (RowOutcome | string)[] }> {
    try {
      const result = await this.o.predictor.predict({
        model: job.model,
        instances: valid.map((v) => v.row),
        requestIds: valid.map((v) => `${job.job_id}-${v.n}`),
        routingKey: job.job_id,
        correlationId: job.job_id,
        jobId: job.job_id,
      });
      return { version: result.version, outcomes: result.outcomes };
    } catch (err) {
      // A version that cannot score these rows fails them; no model, or a log that cannot take rows, fails the job.
      if (!(err instanceof PredictError) || err.status === 404 || err.status === 503) throw err;
      return { version: "", outcomes: valid.map(() => `${err.code}: ${err.message}`) };
    }
  }

  private async yieldToInteractive(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    const until = Date.now() + MAX_YIELD_MS;
    while (this.o.predictor.interactiveInFlight > 0 && Date.now() < until) await sleep(1);
  }

  private async finishCancelled(job: JobRow): Promise<JobRow> {
    this.cancelled.delete(job.job_id);
    return saveJob(this.o.store, { ...job, status: "cancelled" });
  }

  private async primarySchema(model: string): Promise<ModelSchema> {
    const primary = this.o.traffic.state(model)?.primary;
    if (!primary) throw new JobError(404, "unknown_model", "name", this.o.traffic.state(model) ? `model '${model}' has no deployed version` : `unknown model '${model}'`);
    return (await getVersion(this.o.store, model, primary)).schema;
  }
}

/** row, request_id, version, predicted, confidence, one p_<class> per class, error. */
function headerLine(schema: ModelSchema): string {
  return ["row", "request_id", "version", "predicted", "confidence", ...schema.classes.map((c) => `p_${c}`), "error"].map(csvCell).join(",") + "\n";
}

function outputLine(row: number, requestId: string, version: string, outcome: RowOutcome | string, classes: number): string {
  const cells =
    typeof outcome === "string"
      ? [String(row), requestId, "", "", "", ...new Array<string>(classes).fill(""), outcome]
      : [String(row), requestId, version, outcome.predicted, String(outcome.confidence), ...outcome.probabilities.map(String), ""];
  return cells.map(csvCell).join(",") + "\n";
}

function csvCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
