import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";
import type { Store } from "../../store/client.ts";
import type { TrafficController } from "../traffic.ts";

export interface WriterHealth {
  stats(): { storeWritable: boolean; pendingSegments: number; spoolBytes: number };
}

export function registerHealthRoutes(
  app: FastifyInstance,
  deps: { store: Store; traffic: TrafficController; registry: Registry; writers: Record<string, WriterHealth> },
): void {
  app.get("/healthz", { schema: { summary: "Alive" } }, async () => ({ status: "ok" }));

  /** Ready when some model is deployed and every log row has somewhere to go: the store, or the spool. */
  app.get("/readyz", { schema: { summary: "Ready to serve" } }, async (_req, reply) => {
    const deployed = deps.traffic.modelNames().filter((m) => deps.traffic.state(m)?.primary);
    const storeReachable = await deps.store.ping();
    const writers = Object.fromEntries(Object.entries(deps.writers).map(([k, w]) => [k, w.stats()]));
    const spooling = Object.values(writers).some((s) => !s.storeWritable || s.pendingSegments > 0);
    const log = storeReachable && !spooling ? "store" : "spooling";
    const ready = deployed.length > 0;
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "no model deployed", models: deployed, store: storeReachable ? "reachable" : "unreachable", log, writers });
  });

  app.get("/metrics", { schema: { hide: true } }, async (_req, reply) => {
    reply.header("content-type", deps.registry.contentType);
    return deps.registry.metrics();
  });
}
