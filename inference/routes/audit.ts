import type { FastifyInstance } from "fastify";
import type { Store } from "../../store/client.ts";
import { auditRecent, auditSummary } from "../audit.ts";

const params = { type: "object", properties: { name: { type: "string", maxLength: 64 } }, required: ["name"] } as const;

export function registerAuditRoutes(app: FastifyInstance, store: Store): void {
  app.get<{ Params: { name: string }; Querystring: { window_seconds?: number } }>(
    "/v1/models/:name/audit/summary",
    {
      schema: {
        summary: "Counts, error rate, latency percentiles, confidence histogram and per-version breakdown",
        params,
        querystring: { type: "object", additionalProperties: false, properties: { window_seconds: { type: "integer", minimum: 1, maximum: 31_536_000 } } },
      },
    },
    async (req) => auditSummary(store, req.params.name, req.query.window_seconds ?? 3600),
  );
  app.get<{ Params: { name: string }; Querystring: { limit?: number } }>(
    "/v1/models/:name/audit/recent",
    {
      schema: {
        summary: "The newest logged predictions",
        params,
        querystring: { type: "object", additionalProperties: false, properties: { limit: { type: "integer", minimum: 1, maximum: 1000 } } },
      },
    },
    async (req) => ({ predictions: await auditRecent(store, req.params.name, req.query.limit ?? 50) }),
  );
}
