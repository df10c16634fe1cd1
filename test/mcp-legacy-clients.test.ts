import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Fastify, { type FastifyInstance } from "fastify";
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport as StdioV1 } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport as HttpV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { registerMcpHttp } from "../mcp-server/transports/http.ts";
import { registerTrained } from "./helpers/models.ts";
import { closedPort } from "./helpers/ports.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

// Clients of the 2025 revisions, which open with `initialize`: the previous SDK's client (1.x, as
// deployed hosts embed it) and hand-written JSON-RPC naming older revisions. Each lists the tools
// and calls one, over Streamable HTTP, over stdio with the store opened by `mlwatch mcp`, and over
// stdio through the bridge to a running serve.

const root = path.resolve(import.meta.dirname, "..");
let t: TempStore;
let app: FastifyInstance;
let url: string;

type Rpc = { jsonrpc: "2.0"; id?: number; result?: any; error?: { code: number; message: string } };
type Request = { jsonrpc: string; id: number; method: string; params?: object };

beforeAll(async () => {
  t = await tempStore();
  await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1, rows: 1500 });
  app = Fastify();
  await registerMcpHttp(app, { deps: { store: t.store, config: t.config, adminToken: undefined, actionsEnabled: false }, mcpToken: undefined, approverToken: undefined, allowedOrigins: [] });
  url = `${await app.listen({ host: "127.0.0.1", port: 0 })}/mcp`;
}, 120_000);

afterAll(async () => {
  await app?.close();
  await t?.cleanup();
});

async function historyActions(client: ClientV1): Promise<string[]> {
  const r = await client.callTool({ name: "get_deployment_history", arguments: { model: "credit" } });
  expect(r.isError).toBeFalsy();
  return (r.structuredContent as { events: { action: string }[] }).events.map((e) => e.action);
}

/** One JSON-RPC POST as a hand-written client sends it; the stateless endpoint answers on one SSE event or as JSON. */
async function post(message: object, protocolVersion?: string): Promise<Rpc> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...(protocolVersion ? { "mcp-protocol-version": protocolVersion } : {}) },
    body: JSON.stringify(message),
  });
  expect(res.status).toBe(200);
  const body = await res.text();
  const data = res.headers.get("content-type")?.startsWith("text/event-stream") ? body.split("\n").find((l) => l.startsWith("data: "))!.slice(6) : body;
  return JSON.parse(data) as Rpc;
}

const initialize = (id: number, protocolVersion: string) => ({
  jsonrpc: "2.0",
  id,
  method: "initialize",
  params: { protocolVersion, capabilities: {}, clientInfo: { name: "hand-written", version: "1" } },
});

describe("over Streamable HTTP", () => {
  it("serves the SDK 1.x client at 2025-11-25: lists the tools and calls one", async () => {
    const transport = new HttpV1(new URL(url));
    const client = new ClientV1({ name: "sdk-1-client", version: "1" });
    await client.connect(transport);
    try {
      expect(transport.protocolVersion).toBe("2025-11-25");
      expect(client.getServerVersion()?.name).toBe("mlwatch");
      expect((await client.listTools()).tools.map((x) => x.name)).toContain("get_deployment_history");
      expect(await historyActions(client)).toEqual(["register"]);
    } finally {
      await client.close();
    }
  });

  it.each(["2025-11-25", "2025-06-18", "2024-11-05"])("answers a hand-written initialize for %s in that revision, then tools/list and tools/call", async (version) => {
    const init = await post(initialize(1, version));
    expect(init.result).toMatchObject({ protocolVersion: version, serverInfo: { name: "mlwatch" }, capabilities: { tools: {} } });
    const list = await post({ jsonrpc: "2.0", id: 2, method: "tools/list" }, version);
    expect(list.result.tools.map((x: { name: string }) => x.name)).toContain("list_models");
    const call = await post({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "list_models", arguments: {} } }, version);
    expect(call.result.isError).toBeFalsy();
    expect(call.result.structuredContent.models.map((m: { model: string }) => m.model)).toEqual(["credit"]);
  });
});

describe("over stdio", () => {
  it("serves hand-written 2025-11-25 JSON-RPC when mlwatch mcp opens the store itself", async () => {
    const fresh = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-legacy-stdio-"));
    const child = spawn("npx", ["tsx", "mcp-server/main-stdio.ts"], {
      cwd: root,
      env: { PATH: process.env.PATH ?? "", MLWATCH_DATA_DIR: fresh, MLWATCH_URL: `http://127.0.0.1:${await closedPort()}/mcp`, LOG_LEVEL: "warn" },
    });
    try {
      const rpc = lineRpc(child);
      const init = await rpc(initialize(1, "2025-11-25"));
      expect(init.result).toMatchObject({ protocolVersion: "2025-11-25", serverInfo: { name: "mlwatch" } });
      child.stdin.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) + "\n");
      const list = await rpc({ jsonrpc: "2.0", id: 2, method: "tools/list" });
      expect(list.result.tools.map((x: { name: string }) => x.name)).toContain("list_models");
      const call = await rpc({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "list_models", arguments: {} } });
      expect(call.result.structuredContent).toMatchObject({ models: [] });
    } finally {
      child.stdin.end();
      await new Promise((resolve) => child.once("exit", resolve));
      fs.rmSync(fresh, { recursive: true, force: true });
    }
  }, 120_000);

  it("serves the SDK 1.x client through the bridge to a running serve", async () => {
    const transport = new StdioV1({
      command: "npx",
      args: ["tsx", "mcp-server/main-stdio.ts"],
      cwd: root,
      env: { PATH: process.env.PATH ?? "", MLWATCH_DATA_DIR: t.dir, MLWATCH_URL: url, LOG_LEVEL: "warn" },
      stderr: "ignore",
    });
    const client = new ClientV1({ name: "sdk-1-client", version: "1" });
    await client.connect(transport);
    try {
      expect(client.getServerVersion()?.name).toBe("mlwatch");
      expect((await client.listTools()).tools.map((x) => x.name)).toContain("get_deployment_history");
      expect(await historyActions(client)).toEqual(["register"]);
    } finally {
      await client.close();
    }
  }, 120_000);
});

/** Newline-delimited JSON-RPC with a child: send a request, resolve with the answer of the same id. */
function lineRpc(child: ChildProcessWithoutNullStreams): (request: Request) => Promise<Rpc> {
  const waiting = new Map<number, (answer: Rpc) => void>();
  readline.createInterface({ input: child.stdout }).on("line", (line) => {
    const answer = JSON.parse(line) as Rpc;
    if (answer.id !== undefined) waiting.get(answer.id)?.(answer);
  });
  return (request) =>
    new Promise((resolve) => {
      waiting.set(request.id, resolve);
      child.stdin.write(JSON.stringify(request) + "\n");
    });
}
