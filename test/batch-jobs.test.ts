import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCredit } from "../models/datasets/credit.ts";
import type { ModelVersion } from "../models/registry.ts";
import type { Row } from "../models/schema.ts";
import type { InferenceService } from "../inference/service.ts";
import { parseCsv } from "../models/datasets/csv.ts";
import { queryLogs } from "../analysis/index.ts";
import { eventually } from "./helpers/eventually.ts";
import { requestJson } from "./helpers/http.ts";
import { registerTrained } from "./helpers/models.ts";
import { runCli } from "./helpers/serve-process.ts";
import { startService } from "./helpers/service.ts";
import { LOOPBACK, tempStore, type TempStore } from "./helpers/temp-store.ts";

// Batch scoring jobs through the real service: upload, progress, result, cancel, a restart in the
// middle of a job, the CLI, and a file missing a feature refused before any row is scored.

let t: TempStore;
let svc: InferenceService;
let v1: ModelVersion;
const FEATURES = ["age", "income", "debt_ratio", "credit_lines", "late_payments", "employment", "region", "loan_purpose"];

function csv(rows: Row[], columns = ["id", ...FEATURES]): string {
  const cell = (v: unknown) => (v === null || v === undefined ? "" : String(v));
  return [columns.join(","), ...rows.map((r, i) => columns.map((c) => (c === "id" ? `r${i}` : cell(r[c]))).join(","))].join("\n") + "\n";
}

const rowsOf = (n: number, seed: number) => generateCredit(n, seed).examples.map((e) => e.row);
const submit = (body: string, model = "credit") =>
  fetch(`${svc.url}/v1/models/${model}/jobs?submitted_by=test`, { method: "POST", headers: { "content-type": "text/csv" }, body }).then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, any> }));
const status = (id: string) => requestJson(`${svc.url}/v1/jobs/${id}`);
/** 50 ms more per scoring call until the service restarts (the injector lives in the process): 6,000 rows take about 19 s. */
const slowScoring = async () =>
  expect((await requestJson(`${svc.url}/v1/admin/models/credit/faults`, { method: "PUT", body: { extraLatencyMs: 50, latencyFraction: 1 } })).status).toBe(200);
const settled = (id: string, timeoutMs = 60_000) =>
  eventually(async () => {
    const s = (await status(id)).json;
    expect(["succeeded", "failed", "cancelled"]).toContain(s.status);
    return s;
  }, timeoutMs, 100);
const result = async (id: string) => {
  const res = await fetch(`${svc.url}/v1/jobs/${id}/result`);
  return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
};

beforeAll(async () => {
  // Fault injection only to slow a job down (50 ms a chunk) so a restart lands mid-job on any machine.
  t = await tempStore({ ...LOOPBACK, MLWATCH_JOB_CHUNK_ROWS: "16", MLWATCH_LOG_FLUSH_MS: "50", MLWATCH_FAULT_INJECTION: "1", MLWATCH_AUTO_ROLLBACK_MAX_P99_MS: "60000" });
  v1 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1, rows: 800 });
  svc = await startService(t);
  await svc.traffic.change({ model: "credit", change: { action: "deploy", role: "primary", version: v1.version }, actor: "test", reason: "setup" });
}, 120_000);

afterAll(async () => {
  await svc?.close();
  await t?.cleanup();
});

describe("batch scoring jobs", () => {
  it("scores a file through the serving path: the answers /predict gives, a refused row named, every row logged with the job id", async () => {
    const rows = rowsOf(100, 5);
    rows[7] = { ...rows[7]!, age: "old" };
    const submitted = await submit(csv(rows));
    expect(submitted.status).toBe(202);
    expect(submitted.json).toMatchObject({ status: "queued", rows_total: 100, submitted_by: "test" });
    const id = submitted.json.job_id as string;
    expect(await settled(id)).toMatchObject({ status: "succeeded", rows_done: 100, rows_failed: 1, progress: 1 });

    const out = await result(id);
    expect(out.type).toMatch(/^text\/csv/);
    const [header, ...records] = parseCsv(out.text, "result.csv").map((r) => r.fields);
    expect(header).toEqual(["row", "request_id", "version", "predicted", "confidence", ...v1.schema.classes.map((c) => `p_${c}`), "error"]);
    expect(records.map((r) => r[0])).toEqual(rows.map((_, i) => String(i + 1)));
    expect(records[7]).toEqual(["8", `${id}-8`, "", "", "", "", "", "age: must be a number or null, got string"]);
    const interactive = await requestJson(`${svc.url}/v1/models/credit/predict`, { body: { features: rows[0] } });
    expect(records[0]!.slice(2, 4)).toEqual([v1.version, interactive.json.predictions[0].predicted]);
    expect(Number(records[0]![5])).toBeCloseTo(interactive.json.predictions[0].probabilities[0], 6);

    await svc.predictions.flush();
    const [logged] = await t.store.rows<{ n: number; ids: number }>(
      `SELECT count() AS n, uniqExact(request_id) AS ids FROM ${t.store.table("predictions")} WHERE job_id = {id:String}`,
      { id },
    );
    expect([Number(logged!.n), Number(logged!.ids)]).toEqual([99, 99]);
    // The prediction log a person or the agent reads says which rows were the job's.
    const jobRows = await queryLogs(t.store, { model: "credit", jobId: id, limit: 1000 });
    expect(jobRows.rows).toHaveLength(99);
    expect(new Set(jobRows.rows.map((r) => r.jobId))).toEqual(new Set([id]));
    const byJob = await queryLogs(t.store, { model: "credit", groupBy: "job" });
    expect(byJob.groups).toEqual(expect.arrayContaining([{ key: id, rows: 99 }]));
    expect((await queryLogs(t.store, { model: "credit", jobId: "" })).rows.map((r) => r.jobId)).not.toContain(id);
  });

  it("refuses a file missing a feature before scoring any row, naming the column and reason", async () => {
    const res = await submit(csv(rowsOf(10, 6), ["id", ...FEATURES.filter((f) => f !== "income")]));
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: "missing_feature", field: "header.income", reason: expect.stringMatching(/no column for feature 'income' \(numeric\)/) });
    expect(fs.readdirSync(path.join(t.dir, "jobs")).length).toBe(1);
  });

  it("refuses an unknown model, an empty file and a body that is not text/csv", async () => {
    expect((await submit(csv(rowsOf(2, 1)), "nope")).json).toMatchObject({ error: "unknown_model", field: "name" });
    expect((await submit("")).json).toMatchObject({ error: "invalid_file", field: "file" });
    const json = await requestJson(`${svc.url}/v1/models/credit/jobs`, { body: { rows: [] } });
    expect(json.status).toBe(415);
  });

  it("cancels a queued job at once and a running one before its next chunk; the result of either is refused with 409", async () => {
    const big = csv(rowsOf(20_000, 7));
    const running = (await submit(big)).json.job_id as string;
    const queued = (await submit(big)).json.job_id as string;
    expect((await requestJson(`${svc.url}/v1/jobs/${queued}/cancel`, { method: "POST" })).json).toMatchObject({ status: "cancelled", rows_done: 0 });
    await eventually(async () => expect((await status(running)).json.status).toBe("running"));
    const cancelled = await requestJson(`${svc.url}/v1/jobs/${running}/cancel`, { method: "POST" });
    expect(cancelled.json.status).toBe("cancelled");
    expect(cancelled.json.rows_done).toBeLessThan(20_000);
    expect(await result(running)).toMatchObject({ status: 409 });
    expect((await requestJson(`${svc.url}/v1/jobs/${running}/cancel`, { method: "POST" })).status).toBe(409);
    expect((await status("job-nope")).status).toBe(404);
  });

  it("survives a restart of the service: the job resumes from its checkpoint and every row is in the result once", async () => {
    const n = 6000;
    await slowScoring();
    const id = (await submit(csv(rowsOf(n, 8)))).json.job_id as string;
    await eventually(async () => expect((await status(id)).json.rows_done).toBeGreaterThan(0), 30_000, 20);
    await svc.close();
    const stopped = (await t.store.rows<{ status: string; rows_done: string }>(`SELECT status, rows_done FROM ${t.store.table("jobs")} FINAL WHERE job_id = {id:String}`, { id }))[0]!;
    expect(stopped.status).toBe("running");
    expect(Number(stopped.rows_done)).toBeLessThan(n);
    svc = await startService(t);
    expect(await settled(id)).toMatchObject({ status: "succeeded", rows_done: n });
    const rows = parseCsv((await result(id)).text, "result.csv").slice(1);
    expect(rows.map((r) => Number(r.fields[0]))).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  });

  it("fails a job whose input vanished while the service was down, saying why", async () => {
    await slowScoring();
    const id = (await submit(csv(rowsOf(6000, 9)))).json.job_id as string;
    await eventually(async () => expect((await status(id)).json.status).toBe("running"), 30_000, 20);
    await svc.close();
    fs.rmSync(path.join(t.dir, "jobs", id, "input.csv"));
    svc = await startService(t);
    expect((await status(id)).json).toMatchObject({ status: "failed", error: expect.stringMatching(/input file is gone/) });
  });

  it("mlwatch score uploads the file, follows the job and writes the predictions to --out", async () => {
    const file = path.join(t.dir, "to-score.csv");
    const out = path.join(t.dir, "scored.csv");
    fs.writeFileSync(file, csv(rowsOf(40, 10)));
    const { stderr } = await runCli(["score", "credit", file, "--out", out, "--as", "ci"], { MLWATCH_INFERENCE_URL: svc.url, MLWATCH_DATA_DIR: t.dir });
    expect(stderr).toMatch(/40 rows scored, 0 refused, written to/);
    expect(parseCsv(fs.readFileSync(out, "utf8"), out).length).toBe(41);
    fs.writeFileSync(file, csv(rowsOf(5, 10), ["id", "age"]));
    const refused = await runCli(["score", "credit", file], { MLWATCH_INFERENCE_URL: svc.url, MLWATCH_DATA_DIR: t.dir }).catch((err: { stderr: string; code: number }) => err);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringMatching(/400 missing_feature \(header\.income\): no column for feature 'income'/) });
  }, 60_000);
});
