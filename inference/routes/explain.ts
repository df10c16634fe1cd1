import type { FastifyPluginAsync, FastifyReply } from "fastify";
import { z } from "zod";
import { answer, errorResponses } from "../../http/openapi.ts";
import { ExplainInputError } from "../../models/explain/check-row.ts";
import { explainRequest, type ExplainRequest, type ScorerSource } from "../../models/explain/explain-request.ts";
import type { Store } from "../../store/client.ts";
import type { SessionCache } from "../sessions.ts";
import type { TrafficController } from "../traffic.ts";
import { EXAMPLE_ROW, modelParams, type ModelParams } from "./shared.ts";

const ID = { type: "string", minLength: 1, maxLength: 128, pattern: "^[\\x21-\\x7e]+$" } as const;

export const explainBodySchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    features: { type: "object", description: "A row to explain: feature values by name; null marks a missing value." },
    request_id: { ...ID, description: "A logged prediction to explain: its features are read from the prediction log." },
    version: { type: "string", minLength: 1, maxLength: 64, description: "Default: the version that logged the request, or the primary for posted features." },
    class: { type: "string", minLength: 1, maxLength: 256, description: "Class whose output is explained; default the predicted class." },
    output: { enum: ["probability", "logit"], description: "Default logit for logistic models (exact values), probability otherwise." },
    method: { enum: ["auto", "exact", "sampling"] },
    permutations: { type: "integer", minimum: 2, maximum: 100_000 },
    background_rows: { type: "integer", minimum: 1, maximum: 1000 },
    seed: { type: "integer", minimum: 0, maximum: 4_294_967_295 },
  },
  oneOf: [{ required: ["features"] }, { required: ["request_id"] }],
  examples: [{ features: EXAMPLE_ROW }, { features: EXAMPLE_ROW, output: "probability", method: "sampling", permutations: 200, seed: 7 }],
} as const;

const featureValue = z.union([z.number(), z.string(), z.null()]);

/** RequestExplanation (models/explain) as the route sends it. */
const explanationSchema = z.object({
  model: z.string(),
  version: z.string(),
  versionChosenBy: z.string(),
  kind: z.string(),
  class: z.string().describe("The class whose output is explained"),
  predicted: z.string(),
  probabilities: z.array(z.number()),
  output: z.object({ space: z.enum(["probability", "logit"]), description: z.string() }),
  method: z.object({
    name: z.enum(["exact-linear", "exact-enumeration", "permutation-sampling"]),
    description: z.string(),
    evaluations: z.number().int(),
    permutations: z.number().int().nullable(),
    seed: z.number().int().nullable(),
  }),
  background: z.object({ source: z.string(), rows: z.number().int(), description: z.string() }),
  value: z.number().describe("f(x) in the output space"),
  expectedValue: z.number().describe("E[f] over the background rows"),
  attributions: z.array(z.object({ feature: z.string(), value: featureValue, attribution: z.number(), standardError: z.number() })).describe("Largest |attribution| first"),
  additivityGap: z.number().describe("value − expectedValue − Σ attributions"),
  source: z.union([
    z.object({ kind: z.literal("logged"), requestId: z.string(), variant: z.string(), tsUs: z.number(), loggedPredicted: z.string(), loggedProbabilities: z.array(z.number()) }),
    z.object({ kind: z.literal("posted") }),
  ]),
});

interface ExplainBody {
  features?: Record<string, unknown>;
  request_id?: string;
  version?: string;
  class?: string;
  output?: "probability" | "logit";
  method?: "auto" | "exact" | "sampling";
  permutations?: number;
  background_rows?: number;
  seed?: number;
}

export interface ExplainRoutesOptions {
  store: Store;
  sessions: SessionCache;
  traffic: TrafficController;
  /** Writes buffered log rows: a request answered a moment ago may not have reached the store yet. */
  flushLog: () => Promise<void>;
}

/** POST /v1/models/:name/explain — Shapley attributions for a logged request id or a posted row. */
export const explainRoutes: FastifyPluginAsync<ExplainRoutesOptions> = async (app, deps) => {
  // Sessions stay in the serving cache; nothing to release per request.
  const source: ScorerSource = {
    async open(model, version) {
      const loaded = await deps.sessions.get(model, version);
      return { scorer: loaded, meta: loaded.meta, baseline: loaded.baseline, release: async () => {} };
    },
  };
  const primary = async (model: string) => {
    const version = deps.traffic.state(model)?.primary;
    if (!version) throw new ExplainInputError("version", `model '${model}' has no primary version deployed (an unknown model, or none deployed yet); name the version to explain with`, 404);
    return { version, chosenBy: "the primary version" };
  };
  app.post<{ Params: ModelParams; Body: ExplainBody }>(
    "/v1/models/:name/explain",
    {
      schema: {
        operationId: "explain",
        tags: ["inference"],
        summary: "Feature attributions (Shapley values) for a logged request id or a posted row, with the background named",
        security: [],
        params: modelParams,
        body: explainBodySchema,
        response: { 200: answer("Attributions that sum to value − expectedValue", explanationSchema), ...errorResponses(400, 404, 413, 415, 500) },
      },
    },
    async (request, reply) => {
      const req = toRequest(request.params.name, request.body);
      try {
        return await explainWithRetry(deps, source, primary, req);
      } catch (err) {
        if (err instanceof ExplainInputError) return refuse(reply, err);
        throw err;
      }
    },
  );
};

/** A request id not found is looked up once more after the log's buffer is written. */
async function explainWithRetry(deps: ExplainRoutesOptions, source: ScorerSource, primary: Parameters<typeof explainRequest>[2], req: ExplainRequest) {
  try {
    return await explainRequest(deps.store, source, primary, req);
  } catch (err) {
    if (!(err instanceof ExplainInputError && err.status === 404 && err.field === "requestId")) throw err;
    await deps.flushLog();
    return explainRequest(deps.store, source, primary, req);
  }
}

function toRequest(model: string, body: ExplainBody): ExplainRequest {
  return {
    model,
    requestId: body.request_id,
    features: body.features,
    version: body.version,
    class: body.class,
    output: body.output,
    method: body.method,
    permutations: body.permutations,
    backgroundRows: body.background_rows,
    seed: body.seed,
  };
}

/** Body fields are snake_case where the shared explainer names them as the MCP tool does. */
const BODY_FIELD: Record<string, string> = { requestId: "request_id", backgroundRows: "background_rows" };

function refuse(reply: FastifyReply, err: ExplainInputError) {
  const field = `body.${BODY_FIELD[err.field] ?? err.field}`;
  return reply.code(err.status).send({ error: err.status === 404 ? "not_found" : "invalid_request", field, reason: err.reason });
}
