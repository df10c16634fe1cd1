import fs from "node:fs";
import { Readable } from "node:stream";
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { answer, errorResponses, requires } from "../../http/openapi.ts";
import { jobStatuses, type JobRow } from "../../store/jobs-table.ts";
import { bearerGuard } from "../auth.ts";
import { JobError } from "../jobs/job-files.ts";
import type { JobRunner } from "../jobs/job-runner.ts";
import { EXAMPLE_ROW, modelParams, type ModelParams } from "./shared.ts";

const jobSchema = z.object({
  job_id: z.string(),
  model: z.string(),
  status: z.enum(jobStatuses),
  submitted_by: z.string(),
  rows_total: z.number().int().describe("Data rows in the file (its records less the header)"),
  rows_done: z.number().int().describe("Rows written to the result, scored or refused"),
  rows_failed: z.number().int().describe("Rows written with an error instead of a prediction"),
  progress: z.number().min(0).max(1),
  error: z.string().describe("Why the job failed; empty otherwise"),
  created_at: z.string(),
  updated_at: z.string(),
});

const jobParams = { type: "object", properties: { id: { type: "string", minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9-]+$", examples: ["job-2f1c0f7e-8d5e-4a57-9d0e-3b1f1f9c2a10"] } }, required: ["id"] } as const;
const jobs = { tags: ["jobs"], security: requires("adminToken") };
const csvExample = `${Object.keys(EXAMPLE_ROW).join(",")}\n${Object.values(EXAMPLE_ROW).join(",")}\n`;

export interface JobRoutesOptions {
  runner: JobRunner;
  adminToken: string | undefined;
}

/**
 * The batch job API: submit a CSV, poll its status, download the result, cancel. Admin token: a job
 * writes files to the server's disk and holds a core for as long as the file takes.
 */
export const jobRoutes: FastifyPluginAsync<JobRoutesOptions> = async (app, deps) => {
  app.addHook("onRequest", bearerGuard(deps.adminToken));
  // The upload is streamed to disk as it arrives, never held in memory; the runner bounds its size.
  app.addContentTypeParser("text/csv", (_req, payload, done) => done(null, payload));

  app.post<{ Params: ModelParams; Querystring: { submitted_by?: string } }>(
    "/v1/models/:name/jobs",
    {
      config: { swaggerTransform: ({ schema, url }) => ({ schema: { ...schema, consumes: ["text/csv"], body: { type: "string", description: "A CSV file with a header line; every feature of the model's primary must have a column, other columns are ignored", examples: [csvExample] } }, url }) },
      schema: {
        ...jobs,
        operationId: "submitJob",
        summary: "Submit a CSV file to be scored in the background at low priority",
        params: modelParams,
        querystring: { type: "object", additionalProperties: false, properties: { submitted_by: { type: "string", minLength: 1, maxLength: 128 } } },
        response: { 202: answer("Accepted and queued; poll GET /v1/jobs/{id}", jobSchema), ...errorResponses(400, 401, 403, 404, 413, 415, 500) },
      },
    },
    async (req, reply) => {
      // Another parser (JSON) may have read the body: only a text/csv body arrives as the stream.
      if (!(req.body instanceof Readable)) throw new JobError(415, "unsupported_media_type", "content-type", "send the file as text/csv");
      const job = await deps.runner.submit(req.params.name, req.body, req.query.submitted_by ?? "api");
      return reply.code(202).header("location", `/v1/jobs/${job.job_id}`).send(wire(job));
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/jobs/:id",
    {
      schema: {
        ...jobs,
        operationId: "getJob",
        summary: "A job's status and progress",
        params: jobParams,
        response: { 200: answer("The job as last checkpointed (progress is written about once a second)", jobSchema), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (req) => wire(await deps.runner.status(req.params.id)),
  );

  app.get<{ Params: { id: string } }>(
    "/v1/jobs/:id/result",
    {
      schema: {
        ...jobs,
        operationId: "getJobResult",
        summary: "Download a succeeded job's predictions as CSV",
        params: jobParams,
        response: {
          200: { description: "row, request_id, version, predicted, confidence, one p_<class> column per class, error", content: { "text/csv": { schema: { type: "string" } } } },
          ...errorResponses(400, 401, 403, 404, 409),
        },
      },
    },
    async (req, reply) => {
      const file = await deps.runner.resultFile(req.params.id);
      return reply.type("text/csv; charset=utf-8").send(fs.createReadStream(file));
    },
  );

  app.post<{ Params: { id: string } }>(
    "/v1/jobs/:id/cancel",
    {
      schema: {
        ...jobs,
        operationId: "cancelJob",
        summary: "Cancel a queued or running job",
        params: jobParams,
        response: { 200: answer("The job, cancelled", jobSchema), ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (req) => wire(await deps.runner.cancel(req.params.id)),
  );
};

function wire(job: JobRow): z.infer<typeof jobSchema> {
  const iso = (us: number) => new Date(us / 1000).toISOString();
  return {
    job_id: job.job_id,
    model: job.model,
    status: job.status,
    submitted_by: job.submitted_by,
    rows_total: job.rows_total,
    rows_done: job.rows_done,
    rows_failed: job.rows_failed,
    progress: job.status === "succeeded" ? 1 : job.rows_total > 0 ? job.rows_done / job.rows_total : 0,
    error: job.error,
    created_at: iso(job.created_at),
    updated_at: iso(job.updated_at),
  };
}
