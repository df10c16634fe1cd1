import path from "node:path";
import { z } from "zod";

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
  MLWATCH_QUERY_TIMEOUT_S: z.coerce.number().positive().default(30),
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
  queryTimeoutSeconds: number;
  logLevel: RawEnv["LOG_LEVEL"];
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
    queryTimeoutSeconds: e.MLWATCH_QUERY_TIMEOUT_S,
    logLevel: e.LOG_LEVEL,
  };
}

/** An empty variable means "not set", as shells and compose files usually intend. */
function withoutEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((kv): kv is [string, string] => kv[1] !== undefined && kv[1] !== ""));
}
