import type { Config } from "../config.ts";
import type { Store } from "../store/client.ts";
import { nowMicros } from "../store/clock.ts";
import type { Principal } from "./auth.ts";
import { defaultLimits, type Limits } from "./config.ts";
import type { McpMetrics } from "./metrics.ts";

/** What the server factory needs; nothing here knows which transport carries the calls. */
export interface McpDeps {
  store: Store;
  config: Config;
  /** Base URL of the inference service whose admin API applies approved actions. */
  inferenceUrl: string;
  adminToken: string | undefined;
  /** Registers propose/apply/get/list proposal tools (MLWATCH_MCP_ACTIONS=1). */
  actionsEnabled: boolean;
  /** Microseconds since the epoch; the store's clock (virtual under simulation) by default. */
  clock?: () => number;
  /** The authenticated caller; an agent unless the HTTP transport saw the approver token. */
  principal?: Principal;
  limits?: Partial<Limits>;
  proposalTtlSeconds?: number;
  /** Where tool outcomes are counted; unset where the process exposes no metrics (stdio). */
  metrics?: McpMetrics;
}

/** McpDeps with every default filled in: what each tool receives. */
export interface ToolDeps {
  store: Store;
  config: Config;
  inferenceUrl: string;
  adminToken: string | undefined;
  actionsEnabled: boolean;
  clock: () => number;
  principal: Principal;
  limits: Limits;
  proposalTtlSeconds: number;
  metrics: McpMetrics | undefined;
}

export function resolveDeps(deps: McpDeps): ToolDeps {
  return {
    store: deps.store,
    config: deps.config,
    inferenceUrl: deps.inferenceUrl,
    adminToken: deps.adminToken,
    actionsEnabled: deps.actionsEnabled,
    clock: deps.clock ?? nowMicros,
    principal: deps.principal ?? { role: "agent", name: "mcp" },
    limits: { ...defaultLimits, ...deps.limits },
    proposalTtlSeconds: deps.proposalTtlSeconds ?? 3600,
    metrics: deps.metrics,
  };
}
