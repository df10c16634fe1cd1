import path from "node:path";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { pino, type Logger } from "pino";
import { Registry } from "prom-client";
import type { Config } from "../config.ts";
import { securitySchemes, tags } from "../http/openapi.ts";
import type { Store } from "../store/client.ts";
import type { LabelRow, PredictionRow } from "../store/tables.ts";
import { installAdmission } from "./admission.ts";
import { AutoRollbackGuard } from "./auto-rollback.ts";
import { FaultInjector } from "./faults.ts";
import { installErrorHandler } from "./http-errors.ts";
import { installJsonBodyParser } from "./json-body.ts";
import { LogWriter } from "./log-writer.ts";
import { createLogWriterMetrics } from "./log-writer-metrics.ts";
import { createServingMetrics } from "./metrics.ts";
import { JobRunner } from "./jobs/job-runner.ts";
import { PredictionCache } from "./prediction-cache.ts";
import { Predictor } from "./predictor.ts";
import { RecentPredictions } from "./recent-predictions.ts";
import { adminRoutes } from "./routes/admin.ts";
import { auditRoutes } from "./routes/audit.ts";
import { explainRoutes } from "./routes/explain.ts";
import { feedbackRoutes } from "./routes/feedback.ts";
import { healthRoutes } from "./routes/health.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { predictRoutes } from "./routes/predict.ts";
import { ensembleRegistrationRoutes } from "./routes/register-ensemble.ts";
import { versionRegistrationRoutes } from "./routes/register-version.ts";
import { SessionCache } from "./sessions.ts";
import { TrafficController } from "./traffic.ts";
import { versionsIn } from "../rollout/traffic-changes.ts";

/** The app, built and ready but not listening, and what the service object is made of. */
export interface InferenceApp {
  app: FastifyInstance;
  traffic: TrafficController;
  registry: Registry;
  predictions: LogWriter<PredictionRow>;
  labels: LogWriter<LabelRow>;
  /** The batch job runner; not started here: startInferenceService starts it once listening. */
  jobs: JobRunner;
  close(): Promise<void>;
}

export interface InferenceAppOptions {
  config: Config;
  store: Store;
  logger?: Logger;
  /** Extra routes hosted in the same process (the MCP endpoint, the agent's webhook). */
  extend?: (app: FastifyInstance, registry: Registry) => Promise<void> | void;
}

/**
 * Builds the inference app on the store without listening: every route registered, the app ready,
 * each deployed version's session loaded. `app.inject` serves it as is; the caller owns the store
 * and closes it after us.
 */
export async function buildInferenceApp({ config, store, logger, extend }: InferenceAppOptions): Promise<InferenceApp> {
  const cfg = config.inference;
  const log = logger ?? pino({ level: config.logLevel });
  const registry = new Registry();
  const metrics = createServingMetrics(registry, config.environment);
  const writerMetrics = createLogWriterMetrics(registry);
  const writer = <R extends object>(table: string) =>
    LogWriter.open<R>({
      store,
      table,
      dir: path.join(config.dataDir, "spool", table),
      flushRows: cfg.logFlushRows,
      flushIntervalMs: cfg.logFlushMs,
      maxSpoolBytes: cfg.spoolMaxBytes,
      spoolFullPolicy: cfg.spoolFullPolicy,
      metrics: writerMetrics,
      logger: log,
    });
  const [predictions, labels] = [await writer<PredictionRow>("predictions"), await writer<LabelRow>("labels")];

  const traffic = new TrafficController(store);
  exportBanditMetrics(traffic, metrics, config.environment);
  await traffic.start(cfg.statePollMs);
  const sessions = new SessionCache(store, cfg.intraOpThreads);
  const guard = new AutoRollbackGuard(traffic, cfg.autoRollback, (model, version, reason, err) =>
    err ? log.error({ model, version, err }, "automatic rollback failed") : log.warn({ model, version, reason }, "automatic rollback"),
  );
  const faults = cfg.faultInjection ? new FaultInjector() : undefined;
  const cache = cfg.predictionCache.enabled ? new PredictionCache(cfg.predictionCache.maxEntries) : undefined;
  if (cache) traffic.onChange((model) => cache.invalidate(model));
  const predictor = new Predictor({
    faults,
    latencyClock: cfg.latencyClock,
    sessions,
    traffic,
    metrics,
    log: config.logPredictions ? predictions : { append: () => "ok" },
    logFeatures: config.logFeatures,
    batchWindowMs: cfg.batchWindowMs,
    batchMaxRows: cfg.batchMaxRows,
    onOutcome: (...args) => guard.record(...args),
    onShadowError: (err) => log.warn({ err }, "shadow scoring failed"),
    ...(cfg.fallback.enabled ? { fallback: { timeoutMs: cfg.fallback.timeoutMs } } : {}),
    ...(cache ? { cache } : {}),
  });
  const recent = new RecentPredictions();
  const jobs = new JobRunner({
    store,
    predictor,
    traffic,
    dataDir: config.dataDir,
    chunkRows: cfg.jobs.chunkRows,
    maxBytes: cfg.jobs.maxBytes,
    onError: (jobId, err) => log.error({ jobId, err }, "batch job failed"),
  });

  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    // Per-request log lines would cost more than the request itself at this rate; errors still log.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: cfg.maxBodyBytes,
    requestIdHeader: false,
    // The router would answer an over-long path segment with its own 414, uncounted and naming no
    // field; past it, each route's params schema answers 400 naming the parameter, and is counted.
    routerOptions: { maxParamLength: 4096 },
    // Ajv's default strips unknown properties silently; a caller's typo must be an error instead.
    ajv: { customOptions: { removeAdditional: false } },
  });
  // What every route shares is set on the root before any route plugin: a plugin inherits the root's
  // parsers, error handler, hooks and swagger's onRoute at registration, and adds its own in its scope.
  installJsonBodyParser(app);
  await app.register(swagger, { openapi: openapiDocument });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  installErrorHandler(app, metrics, (name) => traffic.state(name) !== undefined);
  countHttp(app, metrics);
  installAdmission(app, metrics, cfg.maxInFlight);

  // Routes as plugins, each with its options; this order is the order of the OpenAPI document.
  const adminToken = cfg.adminToken;
  app.register(predictRoutes, { predictor, recent, maxInstances: cfg.maxInstances });
  app.register(feedbackRoutes, {
    store,
    recent,
    labels,
    metrics,
    classesOf: async (model, version) => (await sessions.get(model, version)).meta.schema.classes,
    maxLabels: cfg.maxInstances,
  });
  app.register(auditRoutes, { store });
  app.register(explainRoutes, { store, sessions, traffic, flushLog: () => predictions.flush() });
  app.register(healthRoutes, { store, traffic, registry, writers: { predictions, labels } });
  app.register(adminRoutes, { store, traffic, metrics, adminToken, faults });
  app.register(versionRegistrationRoutes, { store, modelDir: config.modelDir, adminToken });
  app.register(ensembleRegistrationRoutes, { store, modelDir: config.modelDir, adminToken });
  app.register(jobRoutes, { runner: jobs, adminToken });
  await extend?.(app, registry);

  await app.ready();

  await Promise.all(traffic.modelNames().flatMap((m) => warmUp(sessions, traffic, m, cfg.fallback.enabled)));
  // After a change too: a new primary's first request pays no load, and its predecessor stays ready to fall back to.
  traffic.onChange((m) => void Promise.all(warmUp(sessions, traffic, m, cfg.fallback.enabled)));

  return {
    app,
    traffic,
    registry,
    predictions,
    labels,
    jobs,
    async close() {
      traffic.stop();
      await jobs.close();
      await app.close();
      await predictions.close();
      await labels.close();
      await sessions.close();
    },
  };
}

const openapiDocument = {
  info: {
    title: "mlwatch",
    version: "1",
    description: "Serving, feedback, explanations and the admin API of mlwatch; /mcp and the alert webhook when `mlwatch serve` hosts them. Refusals answer {error, field?, reason}.",
    license: { name: "MIT", url: "https://opensource.org/license/mit" },
  },
  servers: [{ url: "/", description: "This service" }],
  tags: [...tags],
  components: { securitySchemes },
};

/**
 * Load every deployed version's session before serving, so the first request pays no load; the
 * previous primary too, since a fallback answers only from a version already loaded.
 */
function warmUp(sessions: SessionCache, traffic: TrafficController, model: string, withPrevious: boolean): Promise<unknown>[] {
  const s = traffic.state(model);
  const versions = [...(s ? versionsIn(s) : []), ...(withPrevious && s?.previous ? [s.previous] : [])];
  return versions.map((v) => sessions.get(model, v).catch(() => undefined));
}

/** Each computed allocation into the gauges; a stopped bandit's arms leave them, so a dashboard shows no stale shares. */
function exportBanditMetrics(traffic: TrafficController, metrics: ReturnType<typeof createServingMetrics>, environment: string): void {
  const arms = new Map<string, string[]>();
  traffic.onAllocation((model, allocation) => {
    arms.set(model, allocation.map((a) => a.version));
    for (const arm of allocation) {
      metrics.banditShare.set({ model, version: arm.version }, arm.share);
      if (arm.meanReward !== null) metrics.banditReward.set({ model, version: arm.version }, arm.meanReward);
    }
  });
  traffic.onChange((model, state) => {
    if (state.bandit) return;
    for (const version of arms.get(model) ?? []) {
      metrics.banditShare.remove({ model, version, environment });
      metrics.banditReward.remove({ model, version, environment });
    }
    arms.delete(model);
  });
}

function countHttp(app: FastifyInstance, metrics: ReturnType<typeof createServingMetrics>): void {
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
}
