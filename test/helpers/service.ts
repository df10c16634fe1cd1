import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { startInferenceService, type InferenceService } from "../../inference/service.ts";
import type { TempStore } from "./temp-store.ts";

/**
 * The real inference service on the temp store; `extend` mounts more on the same instance, as `serve`
 * does. Quiet unless TEST_LOG_LEVEL asks, so a failing run can be replayed with the service's logs.
 */
export function startService(t: TempStore, extend?: (app: FastifyInstance) => Promise<void> | void): Promise<InferenceService> {
  return startInferenceService({ config: t.config, store: t.store, logger: pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }), extend });
}

/** Straight through the traffic controller: setup that needs neither the admin route nor its token. */
export async function deployPrimary(svc: InferenceService, version: string): Promise<void> {
  await svc.traffic.change({ model: "credit", change: { action: "deploy", role: "primary", version }, actor: "test", reason: "setup" });
}

/** The service with `version` already answering as credit's primary. */
export async function serveAsPrimary(t: TempStore, version: string): Promise<InferenceService> {
  const svc = await startService(t);
  await deployPrimary(svc, version);
  return svc;
}
