import { Counter, type Registry } from "prom-client";

/** How a tool call ended: the outcomes a person watching refusals and failures tells apart. */
export type ToolOutcome = "ok" | "refused" | "error" | "timeout" | "too_large";

export interface McpMetrics {
  toolCalls: Counter<"tool" | "outcome">;
}

/**
 * Tool calls by tool and outcome. `refused` is a request the server turned down with its reason
 * (a proposal or plan transition that is not allowed, an unknown stage, a second plan for a model),
 * counted so an agent retrying what it may not do shows up in the metrics as well as in its answers.
 */
export function createMcpMetrics(registry: Registry): McpMetrics {
  return {
    toolCalls: new Counter({
      name: "mlwatch_mcp_tool_calls_total",
      help: "MCP tool calls by tool and outcome (ok, refused, error, timeout, too_large).",
      labelNames: ["tool", "outcome"] as const,
      registers: [registry],
    }),
  };
}
