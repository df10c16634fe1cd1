import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { answer, errorEnvelopeSchema, errorResponses } from "../../http/openapi.ts";
import type { Store } from "../../store/client.ts";
import { nowMicros } from "../../store/clock.ts";
import type { LabelRow } from "../../store/tables.ts";
import type { ServingMetrics } from "../metrics.ts";
import type { RecentPrediction, RecentPredictions } from "../recent-predictions.ts";

const label = {
  type: "object",
  additionalProperties: false,
  required: ["request_id", "label"],
  properties: {
    request_id: { type: "string", minLength: 1, maxLength: 200 },
    label: { type: "string", minLength: 1, maxLength: 200 },
  },
} as const;

const feedbackAnswerSchema = z.object({
  accepted: z.number().int().describe("Labels joined to their prediction and stored"),
  unknown: z.array(z.string()).describe("Request ids no prediction was found for"),
  invalid: z.array(z.object({ request_id: z.string(), reason: z.string() })).describe("Labels that are not a class of the model that answered"),
});

const EXAMPLE_ID = "01a23b26-2290-7003-9a0b-cb4579168c62";

interface FeedbackBody {
  labels?: { request_id: string; label: string }[];
  request_id?: string;
  label?: string;
}

export interface LabelLog {
  append(rows: readonly LabelRow[]): "ok" | "dropped" | "refused";
}

export interface FeedbackRoutesOptions {
  store: Store;
  recent: RecentPredictions;
  labels: LabelLog;
  metrics: ServingMetrics;
  classesOf: (model: string, version: string) => Promise<string[]>;
  maxLabels: number;
}

/**
 * Ground truth for earlier predictions, any time later. Each label is joined to what was answered
 * (recent memory first, then the store), so accuracy metrics count it now and unknown ids are
 * reported back instead of vanishing.
 */
export const feedbackRoutes: FastifyPluginAsync<FeedbackRoutesOptions> = async (app, deps) => {
  app.post<{ Body: FeedbackBody }>(
    "/v1/feedback",
    {
      schema: {
        operationId: "sendFeedback",
        tags: ["inference"],
        summary: "Ground-truth labels for earlier request ids ({labels:[...]} or one {request_id,label})",
        security: [],
        body: {
          type: "object",
          additionalProperties: false,
          properties: { labels: { type: "array", minItems: 1, maxItems: deps.maxLabels, items: label }, ...label.properties },
          oneOf: [{ required: ["labels"] }, { required: ["request_id", "label"] }],
          examples: [{ request_id: EXAMPLE_ID, label: "yes" }, { labels: [{ request_id: EXAMPLE_ID, label: "yes" }, { request_id: `${EXAMPLE_ID}-1`, label: "no" }] }],
        },
        response: {
          200: answer("Labels joined, unknown ids and invalid labels reported back", feedbackAnswerSchema),
          ...errorResponses(413, 415, 500, 503),
          400: answer("A malformed body (the error envelope), or every label invalid (the answer, with each reason)", z.union([errorEnvelopeSchema, feedbackAnswerSchema])),
        },
      },
    },
    async (request, reply) => {
      const items = request.body.labels ?? [{ request_id: request.body.request_id!, label: request.body.label! }];
      const found = await lookUp(deps.store, deps.recent, items.map((i) => i.request_id));
      const accepted: LabelRow[] = [];
      const unknown: string[] = [];
      const invalid: { request_id: string; reason: string }[] = [];
      const now = nowMicros();
      for (const item of items) {
        const p = found.get(item.request_id);
        if (!p) {
          unknown.push(item.request_id);
          continue;
        }
        const classes = await deps.classesOf(p.model, p.version);
        if (!classes.includes(item.label)) {
          invalid.push({ request_id: item.request_id, reason: `label '${item.label}' is not a class of model '${p.model}' (${classes.join(", ")})` });
          continue;
        }
        accepted.push({ request_id: item.request_id, model: p.model, label: item.label, label_ts: now });
        deps.metrics.labelled.inc({ model: p.model, version: p.version });
        if (p.predicted === item.label) deps.metrics.correct.inc({ model: p.model, version: p.version });
      }
      deps.metrics.feedback.inc({ outcome: "joined" }, accepted.length);
      deps.metrics.feedback.inc({ outcome: "unknown_request_id" }, unknown.length);
      deps.metrics.feedback.inc({ outcome: "invalid_label" }, invalid.length);
      if (deps.labels.append(accepted) === "refused") {
        return reply.code(503).send({ error: "log_unavailable", reason: "the label log is full and the store unreachable" });
      }
      return reply.code(invalid.length > 0 && accepted.length === 0 ? 400 : 200).send({ accepted: accepted.length, unknown, invalid });
    },
  );
};

async function lookUp(store: Store, recent: RecentPredictions, ids: string[]): Promise<Map<string, RecentPrediction>> {
  const found = new Map<string, RecentPrediction>();
  const missing: string[] = [];
  for (const id of ids) {
    const p = recent.get(id);
    if (p) found.set(id, p);
    else missing.push(id);
  }
  if (missing.length === 0) return found;
  const rows = await store.rows<{ request_id: string; model: string; version: string; predicted: string }>(
    `SELECT request_id, any(model) AS model, any(version) AS version, any(predicted) AS predicted
     FROM ${store.table("predictions")} WHERE request_id IN {ids:Array(String)} AND variant != 'shadow' AND error = ''
     GROUP BY request_id`,
    { ids: missing },
  );
  for (const r of rows) found.set(r.request_id, { model: r.model, version: r.version, predicted: r.predicted });
  return found;
}
