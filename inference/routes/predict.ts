import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { answer, errorResponses } from "../../http/openapi.ts";
import { EXAMPLE_ROW, modelParams, type ModelParams } from "./shared.ts";
import { fallbackReasons } from "../fallback.ts";
import type { Predictor } from "../predictor.ts";
import type { RecentPredictions } from "../recent-predictions.ts";
import { newRequestId } from "../request-id.ts";

const ID = { type: "string", minLength: 1, maxLength: 128, pattern: "^[\\x21-\\x7e]+$" } as const;
const features = { type: "object", description: "Feature values by name; null marks a missing value." } as const;

const predictAnswerSchema = z.object({
  model: z.string(),
  version: z.string(),
  variant: z.enum(["primary", "canary", "bandit", "fallback"]).describe("Which deployment answered: the primary, the canary's share, an arm of a running bandit, or the fallback when the routed version could not"),
  fallback: z
    .object({
      version: z.string().describe("The routed version, which could not answer"),
      reason: z.enum(fallbackReasons),
    })
    .optional()
    .describe("Present when `version` answered in place of the routed version (MLWATCH_FALLBACK)"),
  predictions: z.array(
    z.object({
      request_id: z.string().describe("The id feedback and explain take; a batch's rows get <x-request-id>-<index>"),
      predicted: z.string(),
      probabilities: z.array(z.number()).describe("One per class, in the schema's class order"),
      confidence: z.number(),
      feature_hash: z.string(),
    }),
  ),
});

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
    examples: [{ features: EXAMPLE_ROW }, { instances: [EXAMPLE_ROW, { ...EXAMPLE_ROW, income: null, region: "west" }], routing_key: "customer-1234" }],
  } as const;
}

interface PredictBody {
  instances?: unknown[];
  features?: Record<string, unknown>;
  routing_key?: string;
}

export interface PredictRoutesOptions {
  predictor: Predictor;
  recent: RecentPredictions;
  maxInstances: number;
}

export const predictRoutes: FastifyPluginAsync<PredictRoutesOptions> = async (app, { predictor, recent, maxInstances }) => {
  app.post<{ Params: ModelParams; Body: PredictBody }>(
    "/v1/models/:name/predict",
    {
      schema: {
        operationId: "predict",
        tags: ["inference"],
        summary: "Score one row ({features}) or a batch ({instances})",
        security: [],
        params: modelParams,
        headers: { type: "object", properties: { "x-request-id": ID, "x-correlation-id": ID } },
        body: predictBodySchema(maxInstances),
        response: { 200: answer("Scored by the deployment routing chose", predictAnswerSchema), ...errorResponses(400, 404, 413, 415, 500, 503) },
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
        ...(result.fallback ? { fallback: result.fallback } : {}),
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
};

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
