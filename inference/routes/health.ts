import type { FastifyPluginAsync } from "fastify";
import type { Registry } from "prom-client";
import { z } from "zod";
import { answer, errorResponses } from "../../http/openapi.ts";
import type { Store } from "../../store/client.ts";
import type { TrafficController } from "../traffic.ts";

export interface WriterHealth {
  stats(): { storeWritable: boolean; pendingSegments: number; spoolBytes: number };
}

const readySchema = z.object({
  status: z.enum(["ready", "no model deployed"]),
  models: z.array(z.string()).describe("Models with a primary version deployed"),
  store: z.enum(["reachable", "unreachable"]),
  log: z.enum(["store", "spooling"]).describe("Where log rows go now: straight to the store, or to the disk spool until it is writable"),
  writers: z.record(z.string(), z.looseObject({ storeWritable: z.boolean(), pendingSegments: z.number().int(), spoolBytes: z.number().int() })).describe("Each log writer's figures"),
});

export interface HealthRoutesOptions {
  store: Store;
  traffic: TrafficController;
  registry: Registry;
  writers: Record<string, WriterHealth>;
}

export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, deps) => {
  app.get(
    "/healthz",
    { schema: { operationId: "healthz", tags: ["health"], summary: "Alive", security: [], response: { 200: answer("The process answers", z.object({ status: z.literal("ok") })), ...errorResponses(500) } } },
    async () => ({ status: "ok" }),
  );

  /** Ready when some model is deployed and every log row has somewhere to go: the store, or the spool. */
  app.get(
    "/readyz",
    {
      schema: {
        operationId: "readyz",
        tags: ["health"],
        summary: "Ready to serve",
        security: [],
        response: { 200: answer("A model is deployed", readySchema), 503: answer("No model deployed yet (same body)", readySchema), ...errorResponses(500) },
      },
    },
    async (_req, reply) => {
      const deployed = deps.traffic.modelNames().filter((m) => deps.traffic.state(m)?.primary);
      const storeReachable = await deps.store.ping();
      const writers = Object.fromEntries(Object.entries(deps.writers).map(([k, w]) => [k, w.stats()]));
      const spooling = Object.values(writers).some((s) => !s.storeWritable || s.pendingSegments > 0);
      const log = storeReachable && !spooling ? "store" : "spooling";
      const ready = deployed.length > 0;
      return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "no model deployed", models: deployed, store: storeReachable ? "reachable" : "unreachable", log, writers });
    },
  );

  app.get("/metrics", { schema: { hide: true } }, async (_req, reply) => {
    reply.header("content-type", deps.registry.contentType);
    return deps.registry.metrics();
  });
};
