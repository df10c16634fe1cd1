import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ServingMetrics } from "./metrics.ts";

/** Routes whose requests are shed under overload: the data plane. Admin, health and metrics stay reachable for the people handling the overload. */
const SHED_ROUTES = new Set(["/v1/models/:name/predict", "/v1/feedback"]);

const admitted = new WeakSet<FastifyRequest>();

/**
 * A bounded number of data-plane requests in flight. Past the bound a request is answered 503 with
 * `Retry-After` before its body is parsed, so refusing costs a fraction of serving: one event loop
 * that takes every request makes them all slow, while one that refuses the excess keeps the admitted
 * fast. An admitted request is served and logged as always; a refused one was never logged and the
 * caller knows it (the status), so nothing admitted is lost. `maxInFlight` 0 turns shedding off.
 */
export function installAdmission(app: FastifyInstance, metrics: ServingMetrics, maxInFlight: number): void {
  if (maxInFlight === 0) return;
  let inFlight = 0;
  const release = async (request: FastifyRequest) => {
    if (admitted.delete(request)) metrics.inFlight.set(--inFlight);
  };
  app.addHook("onRequest", async (request, reply) => {
    const route = request.routeOptions.url;
    if (!route || !SHED_ROUTES.has(route)) return;
    if (inFlight >= maxInFlight) {
      metrics.shed.inc({ route });
      return reply
        .code(503)
        .header("retry-after", "1")
        .send({ error: "overloaded", reason: `${inFlight} requests in flight, the limit is ${maxInFlight} (MLWATCH_MAX_IN_FLIGHT); retry after 1 s` });
    }
    metrics.inFlight.set(++inFlight);
    admitted.add(request);
  });
  app.addHook("onResponse", release);
  app.addHook("onRequestAbort", release);
}
