import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { answer, errorResponses } from "../../http/openapi.ts";
import type { Store } from "../../store/client.ts";
import { auditRecent, auditSummary } from "../audit.ts";
import { modelParams, type ModelParams } from "./shared.ts";

/** AuditSummary (inference/audit.ts) as sent. */
const summarySchema = z.object({
  model: z.string(),
  windowSeconds: z.number().int(),
  total: z.number().int(),
  errors: z.number().int(),
  errorRate: z.number(),
  latencyMs: z.object({ p50: z.number(), p95: z.number(), p99: z.number() }),
  confidenceHistogram: z.array(z.number().int()).describe("Counts of confidence in [0,0.2), [0.2,0.4), … [0.8,1]"),
  byVersion: z.array(
    z.object({ version: z.string(), variant: z.string(), total: z.number().int(), errors: z.number().int(), errorRate: z.number(), p50Ms: z.number(), p99Ms: z.number() }),
  ),
});

/** One logged prediction as auditRecent selects it. */
const recentSchema = z.object({
  predictions: z.array(
    z.object({
      request_id: z.string(),
      ts_us: z.number().int().describe("Microseconds since the epoch"),
      version: z.string(),
      variant: z.string(),
      predicted: z.string(),
      probabilities: z.array(z.number()),
      confidence: z.number(),
      latency_us: z.number().int(),
      error: z.string(),
      correlation_id: z.string(),
      feature_hash: z.string(),
    }),
  ),
});

export interface AuditRoutesOptions {
  store: Store;
}

export const auditRoutes: FastifyPluginAsync<AuditRoutesOptions> = async (app, { store }) => {
  app.get<{ Params: ModelParams; Querystring: { window_seconds?: number } }>(
    "/v1/models/:name/audit/summary",
    {
      schema: {
        operationId: "auditSummary",
        tags: ["audit"],
        summary: "Counts, error rate, latency percentiles, confidence histogram and per-version breakdown",
        security: [],
        params: modelParams,
        querystring: { type: "object", additionalProperties: false, properties: { window_seconds: { type: "integer", minimum: 1, maximum: 31_536_000 } } },
        response: { 200: answer("The window's figures (zeros for a model with no rows)", summarySchema), ...errorResponses(400, 500) },
      },
    },
    async (req) => auditSummary(store, req.params.name, req.query.window_seconds ?? 3600),
  );
  app.get<{ Params: ModelParams; Querystring: { limit?: number } }>(
    "/v1/models/:name/audit/recent",
    {
      schema: {
        operationId: "auditRecent",
        tags: ["audit"],
        summary: "The newest logged predictions",
        security: [],
        params: modelParams,
        querystring: { type: "object", additionalProperties: false, properties: { limit: { type: "integer", minimum: 1, maximum: 1000 } } },
        response: { 200: answer("Newest first", recentSchema), ...errorResponses(400, 500) },
      },
    },
    async (req) => ({ predictions: await auditRecent(store, req.params.name, req.query.limit ?? 50) }),
  );
};
