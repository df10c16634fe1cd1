import type { FastifyInstance } from "fastify";
import type { Predictor } from "../predictor.ts";
import type { RecentPredictions } from "../recent-predictions.ts";
import { newRequestId } from "../request-id.ts";

const ID = { type: "string", minLength: 1, maxLength: 128, pattern: "^[\\x21-\\x7e]+$" } as const;
const features = { type: "object", description: "Feature values by name; null marks a missing value." } as const;

export function predictBodySchema(maxInstances: number) {
  return {
    type: "object",
    additionalProperties: false,
    properties: {
      instances: { type: "array", minItems: 1, maxItems: maxInstances, items: features },
      features,
      routing_key: { ...ID, description: "Sticky canary assignment key; defaults to x-correlation-id, then the request id." },
    },
    oneOf: [{ required: ["instances"] }, { required: ["features"] }],
  } as const;
}

interface PredictBody {
  instances?: unknown[];
  features?: Record<string, unknown>;
  routing_key?: string;
}

export function registerPredictRoute(app: FastifyInstance, predictor: Predictor, recent: RecentPredictions, maxInstances: number): void {
  app.post<{ Params: { name: string }; Body: PredictBody }>(
    "/v1/models/:name/predict",
    {
      schema: {
        summary: "Score one row ({features}) or a batch ({instances})",
        params: { type: "object", properties: { name: { type: "string", maxLength: 64 } }, required: ["name"] },
        headers: { type: "object", properties: { "x-request-id": ID, "x-correlation-id": ID } },
        body: predictBodySchema(maxInstances),
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      const body = request.body;
      const instances = body.instances ?? [body.features];
      const baseId = headerValue(request.headers["x-request-id"]) ?? newRequestId();
      const correlationId = headerValue(request.headers["x-correlation-id"]) ?? "";
      const requestIds = instances.length === 1 ? [baseId] : instances.map((_, i) => `${baseId}-${i}`);
      const result = await predictor.predict({
        model: name,
        instances,
        requestIds,
        routingKey: body.routing_key ?? (correlationId || baseId),
        correlationId,
      });
      for (const o of result.outcomes) recent.add(o.requestId, { model: name, version: result.version, predicted: o.predicted });
      reply.header("x-request-id", baseId);
      if (correlationId) reply.header("x-correlation-id", correlationId);
      return {
        model: name,
        version: result.version,
        variant: result.variant,
        predictions: result.outcomes.map((o) => ({
          request_id: o.requestId,
          predicted: o.predicted,
          probabilities: o.probabilities,
          confidence: o.confidence,
          feature_hash: o.featureHash,
        })),
      };
    },
  );
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
