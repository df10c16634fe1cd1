import { z } from "zod";
import { ConfigError } from "../config.ts";

/**
 * The MCP server's environment variables, validated once. They live here until they are folded
 * into ../config.ts; the names and defaults are the contract.
 */
const token = z.string().min(16, "must be at least 16 characters").optional();

const envSchema = z.object({
  MLWATCH_MCP_TOKEN: token,
  MLWATCH_APPROVER_TOKEN: token,
  MLWATCH_ADMIN_TOKEN: z.string().optional(),
  MLWATCH_MCP_ACTIONS: z.enum(["0", "1"]).default("0"),
  MLWATCH_MCP_ALLOWED_ORIGINS: z
    .string()
    .default("")
    .transform((s) => s.split(",").map((o) => o.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, "each origin is scheme://host[:port], no path"))),
  MLWATCH_INFERENCE_URL: z.url().optional(),
  MLWATCH_URL: z.url().optional(),
  MLWATCH_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  MLWATCH_PROPOSAL_TTL_S: z.coerce.number().int().min(1).default(3600),
  MLWATCH_MCP_DEFAULT_ROWS: z.coerce.number().int().min(1).default(500),
  MLWATCH_MCP_MAX_ROWS: z.coerce.number().int().min(1).default(5000),
  MLWATCH_MCP_MAX_RESPONSE_BYTES: z.coerce.number().int().min(4096).default(256 * 1024),
  MLWATCH_MCP_CALL_TIMEOUT_S: z.coerce.number().positive().default(20),
});

export interface Limits {
  defaultRows: number;
  maxRows: number;
  /** Budget for a result's JSON; rows are trimmed to fit and the result says so. */
  maxResponseBytes: number;
  callTimeoutMs: number;
}

export const defaultLimits: Limits = { defaultRows: 500, maxRows: 5000, maxResponseBytes: 256 * 1024, callTimeoutMs: 20_000 };

export interface McpConfig {
  /** Bearer token of MCP clients (the agent); without it /mcp serves loopback clients only. */
  mcpToken: string | undefined;
  /** Bearer token of people who approve; the only credential approve_action and /v1/approvals accept. */
  approverToken: string | undefined;
  actionsEnabled: boolean;
  allowedOrigins: string[];
  /** Where apply_action reaches the admin API. Unset: `serve` uses its own listener, stdio http://127.0.0.1:$MLWATCH_PORT. */
  inferenceUrl: string | undefined;
  /** The admin API of the local `serve`, for a stdio server that has no listener of its own. */
  localInferenceUrl: string;
  /** The MCP endpoint of a running `mlwatch serve`, which `mlwatch mcp` bridges to (MLWATCH_URL, default http://127.0.0.1:$MLWATCH_PORT/mcp). */
  serveUrl: string;
  proposalTtlSeconds: number;
  limits: Limits;
}

export function loadMcpConfig(env: NodeJS.ProcessEnv = process.env): McpConfig {
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(set);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new ConfigError(`invalid configuration: ${detail}`);
  }
  const e = parsed.data;
  // The agent holds the MCP token; if it also opened the approver or admin door, the gate would be moot.
  if (e.MLWATCH_MCP_TOKEN && (e.MLWATCH_MCP_TOKEN === e.MLWATCH_APPROVER_TOKEN || e.MLWATCH_MCP_TOKEN === e.MLWATCH_ADMIN_TOKEN)) {
    throw new ConfigError("invalid configuration: MLWATCH_MCP_TOKEN must differ from MLWATCH_APPROVER_TOKEN and MLWATCH_ADMIN_TOKEN");
  }
  if (e.MLWATCH_MCP_DEFAULT_ROWS > e.MLWATCH_MCP_MAX_ROWS) {
    throw new ConfigError("invalid configuration: MLWATCH_MCP_DEFAULT_ROWS must not exceed MLWATCH_MCP_MAX_ROWS");
  }
  const local = `http://127.0.0.1:${e.MLWATCH_PORT || 8080}`;
  return {
    mcpToken: e.MLWATCH_MCP_TOKEN,
    approverToken: e.MLWATCH_APPROVER_TOKEN,
    actionsEnabled: e.MLWATCH_MCP_ACTIONS === "1",
    allowedOrigins: e.MLWATCH_MCP_ALLOWED_ORIGINS,
    inferenceUrl: e.MLWATCH_INFERENCE_URL,
    localInferenceUrl: e.MLWATCH_INFERENCE_URL ?? local,
    serveUrl: e.MLWATCH_URL ?? `${local}/mcp`,
    proposalTtlSeconds: e.MLWATCH_PROPOSAL_TTL_S,
    limits: {
      defaultRows: e.MLWATCH_MCP_DEFAULT_ROWS,
      maxRows: e.MLWATCH_MCP_MAX_ROWS,
      maxResponseBytes: e.MLWATCH_MCP_MAX_RESPONSE_BYTES,
      callTimeoutMs: e.MLWATCH_MCP_CALL_TIMEOUT_S * 1000,
    },
  };
}
