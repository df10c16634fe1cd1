import Fastify, { type FastifyInstance } from "fastify";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { InferenceService } from "../../inference/service.ts";
import { registerMcpHttp } from "../../mcp-server/transports/http.ts";
import { startService } from "./service.ts";
import type { TempStore } from "./temp-store.ts";

/** One credential per role, as `serve` takes them: the agent proposes, a person approves, the admin token applies. */
export const TOKENS = {
  admin: "stack-admin-token-0123456789",
  agent: "stack-agent-token-0123456789",
  approver: "stack-approver-token-0123456789",
};

/** /mcp with actions on, as `serve` mounts it when every token is set. */
export function mountMcpWithActions(app: FastifyInstance, t: TempStore): Promise<void> {
  return registerMcpHttp(app, {
    deps: { store: t.store, config: t.config, adminToken: TOKENS.admin, actionsEnabled: true },
    mcpToken: TOKENS.agent,
    approverToken: TOKENS.approver,
    allowedOrigins: [],
  });
}

/** A read-only /mcp endpoint of its own on a loopback port, and a client connected to it. */
export async function startReadOnlyMcp(t: TempStore): Promise<{ app: FastifyInstance; client: Client }> {
  const app = Fastify();
  await registerMcpHttp(app, { deps: { store: t.store, config: t.config, adminToken: undefined, actionsEnabled: false }, mcpToken: undefined, approverToken: undefined, allowedOrigins: [] });
  const client = await connectMcpClient(`${await app.listen({ host: "127.0.0.1", port: 0 })}/mcp`);
  return { app, client };
}

/** The inference service and its /mcp endpoint in one process, as `mlwatch serve` runs them. */
export function startMcpStack(t: TempStore): Promise<InferenceService> {
  return startService(t, (app) => mountMcpWithActions(app, t));
}

/** A real MCP client over Streamable HTTP; without a token it comes as a loopback caller would. */
export async function connectMcpClient(url: string, token?: string): Promise<Client> {
  const client = new Client({ name: "mlwatch-test", version: "1" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {}));
  return client;
}
