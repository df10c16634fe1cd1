import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { resolveDeps, type McpDeps } from "./deps.ts";
import { registerPrompts } from "./prompts/index.ts";
import { registerTools } from "./tools/index.ts";

export type { McpDeps } from "./deps.ts";

const instructions =
  "mlwatch: what every production prediction, label and deployment of our ML models says. Start with list_models, or the " +
  "investigate_model prompt. Windows are relative ({lastSeconds}) or absolute ({fromUs, toUs} in microseconds since the epoch). " +
  "Actions (when enabled) are proposals: a person approves them outside this session before apply_action can apply them.";

/** The MCP server: tools and prompts over `deps`; it knows nothing of the transport that carries it. */
export function createMcpServer(deps: McpDeps): McpServer {
  const resolved = resolveDeps(deps);
  const server = new McpServer(
    { name: "mlwatch", title: "mlwatch — ML models in production", version: "0.1.0" },
    { capabilities: { tools: {}, prompts: {} }, instructions },
  );
  registerTools(server, resolved);
  registerPrompts(server, resolved);
  return server;
}
