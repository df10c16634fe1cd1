import type { FastifyInstance } from "fastify";
import type { Store } from "../../store/client.ts";
import { deploymentHistory } from "../../store/deployments.ts";
import { listVersions } from "../../models/registry.ts";
import { bearerGuard } from "../auth.ts";
import { invalidBody } from "../http-errors.ts";
import { faultSettingsSchema, type FaultInjector } from "../faults.ts";
import type { ServingMetrics } from "../metrics.ts";
import { adminRoutes, changeFromBody, routeBodyJsonSchema, type AuditBody } from "../../rollout/admin-codec.ts";
import { trafficChangeSchema } from "../../rollout/traffic-changes.ts";
import type { TrafficController } from "../traffic.ts";

type ChangeBody = Record<string, unknown> & AuditBody;

export function registerAdminRoutes(
  app: FastifyInstance,
  deps: { store: Store; traffic: TrafficController; metrics: ServingMetrics; adminToken: string | undefined; faults?: FaultInjector },
): void {
  app.register(async (admin) => {
    admin.addHook("onRequest", bearerGuard(deps.adminToken));
    const params = { type: "object", properties: { name: { type: "string", maxLength: 64 } }, required: ["name"] } as const;

    admin.get<{ Params: { name: string } }>("/v1/admin/models/:name/versions", { schema: { summary: "Registered versions", params } }, async (req) => ({
      versions: await listVersions(deps.store, req.params.name),
    }));

    admin.get<{ Params: { name: string } }>("/v1/admin/models/:name/traffic", { schema: { summary: "Current traffic state", params } }, async (req, reply) => {
      const state = deps.traffic.state(req.params.name);
      if (!state) return reply.code(404).send({ error: "not_found", field: "name", reason: `unknown model '${req.params.name}'` });
      return { model: req.params.name, state, event_id: deps.traffic.eventId(req.params.name) };
    });

    admin.get<{ Params: { name: string }; Querystring: { limit?: number } }>(
      "/v1/admin/models/:name/deployments",
      { schema: { summary: "Deployment history, newest first", params, querystring: { type: "object", properties: { limit: { type: "integer", minimum: 1, maximum: 1000 } } } } },
      async (req) => ({ events: await deploymentHistory(deps.store, req.params.name, req.query.limit ?? 100) }),
    );

    const faults = deps.faults;
    if (faults) {
      admin.put<{ Params: { name: string }; Body: unknown }>(
        "/v1/admin/models/:name/faults",
        { schema: { summary: "Inject latency or errors (MLWATCH_FAULT_INJECTION=1 only)", params } },
        async (req, reply) => {
          const parsed = faultSettingsSchema.safeParse(req.body);
          if (!parsed.success) return reply.code(400).send(invalidBody(parsed.error));
          faults.set(req.params.name, parsed.data);
          return { model: req.params.name, faults: parsed.data };
        },
      );
    }

    for (const route of adminRoutes) {
      admin.post<{ Params: { name: string }; Body: ChangeBody }>(
        `/v1/admin/models/:name/${route}`,
        {
          schema: {
            summary: `Traffic change: ${route}`,
            params,
            body: routeBodyJsonSchema(route),
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
  });
}
