import Fastify, { type FastifyInstance } from "fastify";
import type { CallToolResult, Client } from "@modelcontextprotocol/client";
import { expect } from "vitest";
import { connectOver, httpTransport, mcpClient } from "../../agent/mcp-client.ts";
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

/**
 * A test's ways to call a tool on a client it connects later: the raw result, its text, the
 * structured result of a call that must succeed, and the text of one that must be refused.
 */
export function toolCalls(client: () => Client) {
  const call = async (name: string, args: Record<string, unknown>): Promise<CallToolResult> => (await client().callTool({ name, arguments: args })) as CallToolResult;
  const text = (r: CallToolResult) => r.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
  const ok = async (name: string, args: Record<string, unknown>): Promise<{ data: Record<string, any>; summary: string }> => {
    const r = await call(name, args);
    if (r.isError) throw new Error(`${name} failed: ${text(r)}`);
    return { data: r.structuredContent as Record<string, any>, summary: text(r) };
  };
  const refused = async (name: string, args: Record<string, unknown>): Promise<string> => {
    const r = await call(name, args);
    expect(r.isError, `${name} should refuse ${JSON.stringify(args)}`).toBe(true);
    return text(r);
  };
  return { call, text, ok, refused };
}

/** The inference service and its /mcp endpoint in one process, as `mlwatch serve` runs them. */
export function startMcpStack(t: TempStore): Promise<InferenceService> {
  return startService(t, (app) => mountMcpWithActions(app, t));
}

/** mlwatch's MCP client over Streamable HTTP; without a token it comes as a loopback caller would. */
export function connectMcpClient(url: string, token?: string): Promise<Client> {
  return connectOver(mcpClient("mlwatch-test"), httpTransport(url, token));
}
