import { McpServer } from "@modelcontextprotocol/server";
import { resolveDeps, type McpDeps } from "./deps.ts";
import { registerPrompts } from "./prompts/index.ts";
import { registerTools } from "./tools/index.ts";

export type { McpDeps } from "./deps.ts";

const instructions =
  "mlwatch: what every production prediction, label and deployment of our ML models says. Start with list_models, or the " +
  "investigate_model prompt. Windows are relative ({lastSeconds}) or absolute ({fromUs, toUs} in microseconds since the epoch). " +
  "Actions (when enabled) are proposals: a person approves them outside this session before apply_action can apply them.";

/**
 * The MCP server: tools and prompts over `deps`; it knows nothing of the transport that carries it,
 * nor of the protocol era (2026-07-28, or the 2025 initialize handshake) the entry serves it in.
 * The lists are fixed for a connection's life, so no list-changed notifications are advertised.
 */
export function createMcpServer(deps: McpDeps): McpServer {
  const resolved = resolveDeps(deps);
  const server = new McpServer(
    { name: "mlwatch", title: "mlwatch — ML models in production", version: "0.1.0" },
    { capabilities: { tools: { listChanged: false }, prompts: { listChanged: false } }, instructions },
  );
  registerTools(server, resolved);
  registerPrompts(server, resolved);
  return server;
}
