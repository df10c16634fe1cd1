import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { answer, documentedBody, errorResponses, requires } from "../../http/openapi.ts";
import type { Store } from "../../store/client.ts";
import { deploymentHistory, trafficStateSchema } from "../../store/deployments.ts";
import { listVersions } from "../../models/registry.ts";
import { bearerGuard } from "../auth.ts";
import { invalidBody } from "../http-errors.ts";
import { faultSettingsSchema, type FaultInjector } from "../faults.ts";
import type { ServingMetrics } from "../metrics.ts";
import { adminRoutes as changeRoutes, changeFromBody, routeBodyJsonSchema, type AuditBody } from "../../rollout/admin-codec.ts";
import { trafficChangeSchema } from "../../rollout/traffic-changes.ts";
import type { TrafficController } from "../traffic.ts";
import { modelParams, modelVersionSchema, type ModelParams } from "./shared.ts";

type ChangeBody = Record<string, unknown> & AuditBody;

const allocationSchema = z.array(
  z.object({
    version: z.string(),
    pulls: z.number().describe("Labelled answers since the bandit started"),
    reward: z.number().describe("Their summed reward"),
    meanReward: z.number().nullable(),
    share: z.number().describe("Share of served traffic, 0-1"),
  }),
);
const changedSchema = z.object({ event_id: z.string().describe("The audit event recorded for the change"), state: trafficStateSchema });
const eventSchema = z.object({
  eventId: z.string(),
  ts: z.number().int().describe("Microseconds since the epoch"),
  model: z.string(),
  action: z.string(),
  version: z.string(),
  previousVersion: z.string(),
  state: trafficStateSchema.nullable(),
  actor: z.string(),
  reason: z.string(),
  proposalId: z.string(),
  approvalId: z.string(),
  autoApproved: z.boolean(),
});

/** The refusals every admin route can answer, besides its own. */
const ADMIN_ERRORS = [400, 401, 403, 500] as const;
const admin = { tags: ["admin"], security: requires("adminToken"), params: modelParams };

export interface AdminRoutesOptions {
  store: Store;
  traffic: TrafficController;
  metrics: ServingMetrics;
  adminToken: string | undefined;
  /** Present with MLWATCH_FAULT_INJECTION=1 only: the faults route exists only then. */
  faults?: FaultInjector;
}

/** The admin API: versions, traffic state and history, fault injection, and every traffic change. Admin token. */
export const adminRoutes: FastifyPluginAsync<AdminRoutesOptions> = async (app, deps) => {
  // A plugin is its own scope: the guard covers this plugin's routes, nothing registered beside it.
  app.addHook("onRequest", bearerGuard(deps.adminToken));

  app.get<{ Params: ModelParams }>(
    "/v1/admin/models/:name/versions",
    {
      schema: {
        ...admin,
        operationId: "listVersions",
        summary: "Registered versions",
        response: { 200: answer("Oldest first; none for an unknown model", z.object({ versions: z.array(modelVersionSchema) })), ...errorResponses(...ADMIN_ERRORS) },
      },
    },
    async (req) => ({ versions: await listVersions(deps.store, req.params.name) }),
  );

  app.get<{ Params: ModelParams }>(
    "/v1/admin/models/:name/traffic",
    {
      schema: {
        ...admin,
        operationId: "getTraffic",
        summary: "Current traffic state",
        response: {
          200: answer(
            "Who answers, shadows and takes the canary share; a running bandit's allocation as last computed",
            z.object({ model: z.string(), state: trafficStateSchema, event_id: z.string().nullable(), allocation: allocationSchema.nullable() }),
          ),
          ...errorResponses(...ADMIN_ERRORS, 404),
        },
      },
    },
    async (req, reply) => {
      const state = deps.traffic.state(req.params.name);
      if (!state) return reply.code(404).send({ error: "not_found", field: "name", reason: `unknown model '${req.params.name}'` });
      return { model: req.params.name, state, event_id: deps.traffic.eventId(req.params.name), allocation: deps.traffic.allocation(req.params.name) ?? null };
    },
  );

  app.get<{ Params: ModelParams; Querystring: { limit?: number } }>(
    "/v1/admin/models/:name/deployments",
    {
      schema: {
        ...admin,
        operationId: "listDeployments",
        summary: "Deployment history, newest first",
        querystring: { type: "object", properties: { limit: { type: "integer", minimum: 1, maximum: 1000 } } },
        response: { 200: answer("Every audit event of the model, newest first", z.object({ events: z.array(eventSchema) })), ...errorResponses(...ADMIN_ERRORS) },
      },
    },
    async (req) => ({ events: await deploymentHistory(deps.store, req.params.name, req.query.limit ?? 100) }),
  );

  const faults = deps.faults;
  if (faults) {
    app.put<{ Params: ModelParams; Body: unknown }>(
      "/v1/admin/models/:name/faults",
      {
        config: documentedBody(faultSettingsSchema, [{ extraLatencyMs: 250, latencyFraction: 0.2, errorFraction: 0.05 }, { extraLatencyMs: 0, latencyFraction: 0, errorFraction: 0 }]),
        schema: {
          ...admin,
          operationId: "setFaults",
          summary: "Inject latency or errors (MLWATCH_FAULT_INJECTION=1 only); all zero clears them",
          response: { 200: answer("The faults now in force", z.object({ model: z.string(), faults: faultSettingsSchema })), ...errorResponses(...ADMIN_ERRORS, 413, 415) },
        },
      },
      async (req, reply) => {
        const parsed = faultSettingsSchema.safeParse(req.body);
        if (!parsed.success) return reply.code(400).send(invalidBody(parsed.error));
        faults.set(req.params.name, parsed.data);
        return { model: req.params.name, faults: parsed.data };
      },
    );
  }

  for (const route of changeRoutes) {
    app.post<{ Params: ModelParams; Body: ChangeBody }>(
      `/v1/admin/models/:name/${route}`,
      {
        schema: {
          ...admin,
          operationId: route,
          summary: `Traffic change: ${route}`,
          body: routeBodyJsonSchema(route),
          response: { 200: answer("The change is applied and audited", changedSchema), ...errorResponses(...ADMIN_ERRORS, 404, 409, 413, 415) },
        },
      },
      async (req) => {
        const change = trafficChangeSchema.parse(changeFromBody(route, req.body));
        const event = await deps.traffic.change({
          model: req.params.name,
          change,
          actor: req.body.actor,
          reason: req.body.reason,
          proposalId: req.body.proposal_id,
          approvalId: req.body.approval_id,
          autoApproved: req.body.auto_approved,
          expectedEventId: req.body.expected_event_id,
        });
        deps.metrics.deployments.inc({ model: req.params.name, action: change.action });
        return { event_id: event.eventId, state: event.state };
      },
    );
  }
};
