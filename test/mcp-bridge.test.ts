import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Fastify, { type FastifyInstance } from "fastify";
import type { CallToolResult, Client } from "@modelcontextprotocol/client";
import { mcpClient, StdioTransport } from "../agent/mcp-client.ts";
import { registerMcpHttp } from "../mcp-server/transports/http.ts";
import { eventually } from "./helpers/eventually.ts";
import { registerTrained } from "./helpers/models.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

const root = path.resolve(import.meta.dirname, "..");
const AGENT = "bridge-agent-token-0123456789";
let t: TempStore;
let app: FastifyInstance;
let url: string;

function spawnClient(env: Record<string, string>): { client: Client; transport: StdioTransport; stderr: () => string } {
  let stderr = "";
  const transport = new StdioTransport({
    command: "npx",
    args: ["tsx", "mcp-server/main-stdio.ts"],
    cwd: root,
    env: { MLWATCH_DATA_DIR: t.dir, LOG_LEVEL: "warn", ...env },
    stderr: "pipe",
  });
  transport.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  return { client: mcpClient("mcp-bridge-test"), transport, stderr: () => stderr };
}

beforeAll(async () => {
  // This process owns the embedded store, as `mlwatch serve` would; the child cannot open it.
  t = await tempStore();
  await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1, rows: 1500 });
  app = Fastify();
  await registerMcpHttp(app, { deps: { store: t.store, config: t.config, adminToken: undefined, actionsEnabled: false }, mcpToken: AGENT, approverToken: undefined, allowedOrigins: [] });
  url = `${await app.listen({ host: "127.0.0.1", port: 0 })}/mcp`;
}, 120_000);

afterAll(async () => {
  await app?.close();
  await t?.cleanup();
});

describe("mlwatch mcp bridging to a running serve", () => {
  it("forwards every call to the serving process's endpoint with the MCP token", async () => {
    const { client, transport, stderr } = spawnClient({ MLWATCH_URL: url, MLWATCH_MCP_TOKEN: AGENT });
    await client.connect(transport);
    try {
      expect(stderr()).toMatch(/bridging to mlwatch serve at http:\/\/127\.0\.0\.1:\d+\/mcp/);
      expect(client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
      const tools = (await client.listTools()).tools.map((x) => x.name);
      expect(tools).toContain("get_deployment_history");
      const r = (await client.callTool({ name: "get_deployment_history", arguments: { model: "credit" } })) as CallToolResult;
      expect(r.isError).toBeFalsy();
      expect((r.structuredContent as { events: { action: string }[] }).events.map((e) => e.action)).toEqual(["register"]);
      const bad = (await client.callTool({ name: "get_deployment_history", arguments: { model: "nope" } })) as CallToolResult;
      expect(bad.isError).toBe(true);
    } finally {
      await client.close();
    }
  });

  it("stops with a clear message when serve refuses its token", async () => {
    const { client, transport, stderr } = spawnClient({ MLWATCH_URL: url, MLWATCH_MCP_TOKEN: "not-the-right-token-0123" });
    await expect(client.connect(transport)).rejects.toThrow();
    await eventually(() => expect(stderr()).toMatch(/mlwatch serve at .* refused us \(403\); set MLWATCH_MCP_TOKEN/));
  });
});
