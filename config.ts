import path from "node:path";
import { z } from "zod";

/** The `environment` label of the serving metrics: a short name (dev, staging, prod-eu), bounded like every label. */
const environmentSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/, "must be a short name (letters, digits, '_', '.', '-'; at most 32 characters)")
  .default("dev");

/**
 * Every environment variable mlwatch reads, validated once at start-up.
 * Defaults are chosen so that a fresh clone runs with no configuration at all.
 */
const envSchema = z.object({
  MLWATCH_DATA_DIR: z.string().min(1).default("./.mlwatch"),
  MLWATCH_MODEL_DIR: z.string().min(1).optional(),
  CLICKHOUSE_URL: z.url().optional(),
  CLICKHOUSE_USER: z.string().default("default"),
  CLICKHOUSE_PASSWORD: z.string().default(""),
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a plain identifier").default("mlwatch"),
  MLWATCH_CLICKHOUSE_CLUSTER: z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, "must be a plain identifier").optional(),
  MLWATCH_LOG_TTL_DAYS: z.coerce.number().int().min(0).default(90),
  MLWATCH_LOG_FEATURES: z.enum(["raw", "hash"]).default("raw"),
  MLWATCH_LOG_PREDICTIONS: z.enum(["0", "1"]).default("1"),
  MLWATCH_QUERY_TIMEOUT_S: z.coerce.number().positive().default(30),
  MLWATCH_HOST: z.string().optional(),
  MLWATCH_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  MLWATCH_ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  MLWATCH_BATCH_WINDOW_MS: z.coerce.number().min(0).max(50).default(0),
  MLWATCH_BATCH_MAX_ROWS: z.coerce.number().int().min(1).default(2048),
  MLWATCH_MAX_INSTANCES: z.coerce.number().int().min(1).default(1000),
  MLWATCH_MAX_IN_FLIGHT: z.coerce.number().int().min(0).default(1024),
  MLWATCH_MAX_BODY_BYTES: z.coerce.number().int().min(1024).default(1_048_576),
  MLWATCH_INTRA_OP_THREADS: z.coerce.number().int().min(1).default(1),
  MLWATCH_LOG_FLUSH_ROWS: z.coerce.number().int().min(1).default(10_000),
  MLWATCH_LOG_FLUSH_MS: z.coerce.number().int().min(10).default(1000),
  MLWATCH_SPOOL_MAX_BYTES: z.coerce.number().int().min(1024).default(1024 ** 3),
  MLWATCH_SPOOL_FULL_POLICY: z.enum(["drop", "refuse"]).default("refuse"),
  MLWATCH_FAULT_INJECTION: z.enum(["0", "1"]).default("0"),
  // Simulations only: latency as a fixed compute time plus injected delays, so verdicts do not depend on the machine's load.
  MLWATCH_LATENCY_CLOCK: z.enum(["wall", "virtual"]).default("wall"),
  MLWATCH_STATE_POLL_MS: z.coerce.number().int().min(50).default(1000),
  MLWATCH_AUTO_ROLLBACK_MIN_REQUESTS: z.coerce.number().int().min(1).default(200),
  MLWATCH_AUTO_ROLLBACK_MAX_ERROR_RATE: z.coerce.number().min(0).max(1).default(0.05),
  MLWATCH_AUTO_ROLLBACK_MAX_P99_MS: z.coerce.number().positive().default(250),
  MLWATCH_FALLBACK: z.enum(["0", "1"]).default("1"),
  MLWATCH_FALLBACK_TIMEOUT_MS: z.coerce.number().int().min(1).max(600_000).default(2000),
  MLWATCH_PREDICTION_CACHE: z.enum(["0", "1"]).default("0"),
  // 0 is refused rather than read as "off": some servers read a zero bound as unbounded, so it would mean opposite things to different readers.
  MLWATCH_PREDICTION_CACHE_SIZE: z.coerce.number().int().min(1, "must be at least 1 entry; to turn the cache off set MLWATCH_PREDICTION_CACHE=0").default(10_000),
  MLWATCH_JOB_CHUNK_ROWS: z.coerce.number().int().min(1).max(10_000).default(64),
  MLWATCH_JOB_MAX_BYTES: z.coerce.number().int().min(1024).default(1024 ** 3),
  MLWATCH_ENVIRONMENT: environmentSchema,
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type RawEnv = z.infer<typeof envSchema>;

export interface Config {
  dataDir: string;
  modelDir: string;
  clickhouse:
    | { mode: "embedded"; path: string; database: string; cluster?: undefined }
    | { mode: "server"; url: string; user: string; password: string; database: string; cluster: string | undefined };
  logTtlDays: number;
  logFeatures: "raw" | "hash";
  /** Off only to measure what logging costs: nothing unlogged can be monitored. */
  logPredictions: boolean;
  queryTimeoutSeconds: number;
  logLevel: RawEnv["LOG_LEVEL"];
  /** MLWATCH_ENVIRONMENT: the `environment` label of the model-level serving metrics. */
  environment: string;
  inference: InferenceConfig;
}

export interface InferenceConfig {
  /** Without an admin token the service listens on loopback only. */
  host: string;
  port: number;
  adminToken: string | undefined;
  batchWindowMs: number;
  batchMaxRows: number;
  maxInstances: number;
  /** Data-plane requests in flight past which more are shed with 503 (inference/admission.ts); 0 is off. */
  maxInFlight: number;
  maxBodyBytes: number;
  intraOpThreads: number;
  logFlushRows: number;
  logFlushMs: number;
  spoolMaxBytes: number;
  spoolFullPolicy: "drop" | "refuse";
  statePollMs: number;
  /** Simulations only: exposes an admin route that injects latency and errors. */
  faultInjection: boolean;
  /** MLWATCH_LATENCY_CLOCK: "virtual" in simulations (see inference/predictor.ts). */
  latencyClock: "wall" | "virtual";
  autoRollback: { minRequests: number; maxErrorRate: number; maxP99Ms: number };
  /** MLWATCH_FALLBACK(_TIMEOUT_MS): answer from the previous primary when the routed version cannot (inference/fallback.ts). */
  fallback: { enabled: boolean; timeoutMs: number };
  /** MLWATCH_PREDICTION_CACHE(_SIZE): answers of deterministic versions by feature hash, least recently used evicted. */
  predictionCache: { enabled: boolean; maxEntries: number };
  /** Batch scoring jobs: rows per scoring call (small, so interactive requests wait little) and the largest upload. */
  jobs: { chunkRows: number; maxBytes: number };
}

export class ConfigError extends Error {}

/** Parses the environment; throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(withoutEmpty(env));
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new ConfigError(`invalid configuration: ${detail}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.MLWATCH_DATA_DIR);
  return {
    dataDir,
    modelDir: path.resolve(e.MLWATCH_MODEL_DIR ?? path.join(dataDir, "models")),
    clickhouse: e.CLICKHOUSE_URL
      ? {
          mode: "server",
          url: e.CLICKHOUSE_URL,
          user: e.CLICKHOUSE_USER,
          password: e.CLICKHOUSE_PASSWORD,
          database: e.CLICKHOUSE_DATABASE,
          cluster: e.MLWATCH_CLICKHOUSE_CLUSTER,
        }
      : { mode: "embedded", path: path.join(dataDir, "chdb"), database: e.CLICKHOUSE_DATABASE },
    logTtlDays: e.MLWATCH_LOG_TTL_DAYS,
    logFeatures: e.MLWATCH_LOG_FEATURES,
    logPredictions: e.MLWATCH_LOG_PREDICTIONS === "1",
    queryTimeoutSeconds: e.MLWATCH_QUERY_TIMEOUT_S,
    logLevel: e.LOG_LEVEL,
    environment: e.MLWATCH_ENVIRONMENT,
    inference: {
      host: e.MLWATCH_HOST ?? (e.MLWATCH_ADMIN_TOKEN ? "0.0.0.0" : "127.0.0.1"),
      port: e.MLWATCH_PORT,
      adminToken: e.MLWATCH_ADMIN_TOKEN,
      batchWindowMs: e.MLWATCH_BATCH_WINDOW_MS,
      batchMaxRows: e.MLWATCH_BATCH_MAX_ROWS,
      maxInstances: e.MLWATCH_MAX_INSTANCES,
      maxInFlight: e.MLWATCH_MAX_IN_FLIGHT,
      maxBodyBytes: e.MLWATCH_MAX_BODY_BYTES,
      intraOpThreads: e.MLWATCH_INTRA_OP_THREADS,
      logFlushRows: e.MLWATCH_LOG_FLUSH_ROWS,
      logFlushMs: e.MLWATCH_LOG_FLUSH_MS,
      spoolMaxBytes: e.MLWATCH_SPOOL_MAX_BYTES,
      spoolFullPolicy: e.MLWATCH_SPOOL_FULL_POLICY,
      statePollMs: e.MLWATCH_STATE_POLL_MS,
      faultInjection: e.MLWATCH_FAULT_INJECTION === "1",
      latencyClock: e.MLWATCH_LATENCY_CLOCK,
      autoRollback: {
        minRequests: e.MLWATCH_AUTO_ROLLBACK_MIN_REQUESTS,
        maxErrorRate: e.MLWATCH_AUTO_ROLLBACK_MAX_ERROR_RATE,
        maxP99Ms: e.MLWATCH_AUTO_ROLLBACK_MAX_P99_MS,
      },
      fallback: { enabled: e.MLWATCH_FALLBACK === "1", timeoutMs: e.MLWATCH_FALLBACK_TIMEOUT_MS },
      predictionCache: { enabled: e.MLWATCH_PREDICTION_CACHE === "1", maxEntries: e.MLWATCH_PREDICTION_CACHE_SIZE },
      jobs: { chunkRows: e.MLWATCH_JOB_CHUNK_ROWS, maxBytes: e.MLWATCH_JOB_MAX_BYTES },
    },
  };
}

/** An empty variable means "not set", as shells and compose files usually intend. */
function withoutEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((kv): kv is [string, string] => kv[1] !== undefined && kv[1] !== ""));
}
