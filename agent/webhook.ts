import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from "fastify";
import { z } from "zod";
import { answer, documentedBody, errorResponses, requires } from "../http/openapi.ts";
import { bearerToken, isLoopbackAddress, tokenMatches } from "../http/auth.ts";
import type { AgentRunner } from "./runner.ts";
import type { AlertPayload } from "./state.ts";

/** Alertmanager's webhook body (version 4), as much of it as an investigation needs. */
const labels = z.record(z.string(), z.string());
export const alertmanagerSchema = z.object({
  version: z.literal("4"),
  status: z.enum(["firing", "resolved"]),
  receiver: z.string().optional(),
  groupKey: z.string().optional(),
  alerts: z
    .array(
      z.object({
        status: z.enum(["firing", "resolved"]),
        labels: labels.and(z.object({ alertname: z.string().min(1).max(200), model: z.string().min(1).max(64) })),
        annotations: labels.default({}),
        startsAt: z.string().min(1),
        endsAt: z.string().optional(),
        generatorURL: z.string().optional(),
        fingerprint: z.string().optional(),
      }),
    )
    .min(1),
});

const alertExample = {
  version: "4",
  status: "firing",
  receiver: "mlwatch",
  alerts: [
    {
      status: "firing",
      labels: { alertname: "MlwatchErrorRateHigh", model: "credit", severity: "page" },
      annotations: { summary: "credit error rate above 5% for 10 minutes" },
      startsAt: "2026-01-05T09:30:00Z",
      fingerprint: "4c1d8e0f2a7b9c3d",
    },
  ],
};

const acceptedSchema = z.object({
  accepted: z.array(
    z.object({
      model: z.string(),
      alertname: z.string(),
      incident_id: z.string(),
      thread_id: z.string().describe("The agent's thread: the incident id"),
      run_id: z.string().nullable(),
      deduplicated: z.boolean().describe("True when an incident already open for the model took the alert"),
    }),
  ),
  ignored: z.array(z.object({ alertname: z.string(), model: z.string(), reason: z.string() })),
});

export interface WebhookOptions {
  runner: Pick<AgentRunner, "launch">;
  /** Bearer token Alertmanager sends (its `http_config.authorization`); unset = loopback callers only. */
  token: string | undefined;
}

/**
 * POST /v1/alerts on the serving process: one investigation run per firing alert's model
 * (deduplicated against an incident already open for it). Answers 202 with the incident (= thread)
 * and run ids at once; the runs go on in the background and print their incident summaries.
 */
export function registerAlertWebhook(app: FastifyInstance, o: WebhookOptions): void {
  const guard = bearer(o.token);
  const schema: FastifySchema = {
    operationId: "receiveAlerts",
    tags: ["alerts"],
    summary: "Alertmanager webhook: starts an agent investigation per firing alert",
    security: requires("alertToken"),
    response: { 202: answer("Investigations started (or joined) and alerts ignored", acceptedSchema), ...errorResponses(400, 401, 403, 413, 415, 500) },
  };
  app.post("/v1/alerts", { schema, config: documentedBody(alertmanagerSchema, [alertExample]) }, async (req, reply) => {
    const denied = guard(req, reply);
    if (denied) return denied;
    const parsed = alertmanagerSchema.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return reply.code(400).send({ error: "invalid_request", field: issue.path.join(".") || "body", reason: issue.message });
    }
    const accepted = [];
    const ignored = [];
    for (const a of parsed.data.alerts) {
      if (a.status !== "firing") {
        ignored.push({ alertname: a.labels.alertname, model: a.labels.model, reason: "resolved" });
        continue;
      }
      const alert: AlertPayload = {
        alertname: a.labels.alertname,
        status: a.status,
        labels: a.labels,
        annotations: a.annotations,
        startsAt: a.startsAt,
        ...(a.fingerprint ? { fingerprint: a.fingerprint } : {}),
      };
      const run = await o.runner.launch(a.labels.model, { kind: "alert", alert });
      run.done.catch((err) => req.log.error({ err, incident: run.incidentId }, "agent run failed"));
      accepted.push({ model: a.labels.model, alertname: alert.alertname, incident_id: run.incidentId, thread_id: run.incidentId, run_id: run.runId || null, deduplicated: run.deduplicated });
    }
    return reply.code(202).send({ accepted, ignored });
  });
}

function bearer(token: string | undefined) {
  return (req: FastifyRequest, reply: FastifyReply): FastifyReply | undefined => {
    if (!token) {
      if (isLoopbackAddress(req.socket.remoteAddress)) return undefined;
      return reply.code(403).send({ error: "forbidden", reason: "MLWATCH_ALERT_TOKEN is not set, so alerts are accepted from loopback only" });
    }
    const given = bearerToken(req.headers.authorization);
    if (!given) return reply.code(401).send({ error: "unauthorized", field: "authorization", reason: "missing bearer token" });
    return tokenMatches(given, token) ? undefined : reply.code(403).send({ error: "forbidden", field: "authorization", reason: "wrong token" });
  };
}
