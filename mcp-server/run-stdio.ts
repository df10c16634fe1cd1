import { spawn } from "node:child_process";
import type { Duplex, Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../config.ts";
import { openStore, StoreError } from "../store/client.ts";
import { migrate } from "../store/migrations.ts";
import { loadMcpConfig } from "./config.ts";
import { createMcpServer } from "./server.ts";
import { probeServe } from "./serve-probe.ts";
import { bridgeStdioToHttp } from "./transports/bridge.ts";
import { serveStdio } from "./transports/stdio.ts";

/** stdout carries the protocol: every word for people goes to stderr. */
const log = (line: string) => process.stderr.write(`mlwatch mcp: ${line}\n`);

/**
 * `mlwatch mcp`: an MCP server on stdio. When a `mlwatch serve` answers at MLWATCH_URL it owns the
 * store (embedded mode allows one process), so this bridges to its endpoint; otherwise the store is
 * opened by a child process (embedded) or by this one (server mode). The client sees the same tools.
 */
export async function runMcpStdio(): Promise<void> {
  const config = loadConfig();
  const mcp = loadMcpConfig();
  if (await serveRunning(mcp.serveUrl, mcp.mcpToken)) {
    log(`bridging to mlwatch serve at ${mcp.serveUrl}`);
    await bridgeStdioToHttp(new URL(mcp.serveUrl), mcp.mcpToken, log);
    return;
  }
  if (config.clickhouse.mode === "embedded") {
    await relayToStoreChild();
    return;
  }
  await serveStoreOnStdio();
}

/** Opens the store and serves it over `input`/`output` until the client closes; stdio-child.ts runs this too. */
export async function serveStoreOnStdio(input?: Readable, output?: Writable): Promise<void> {
  const config = loadConfig();
  const mcp = loadMcpConfig();
  const store = await openStore(config);
  try {
    await migrate(store);
    log(`serving on stdio from the ${store.mode} store${config.clickhouse.mode === "embedded" ? ` at ${config.clickhouse.path}` : ""}`);
    const server = createMcpServer({
      store,
      config,
      inferenceUrl: mcp.localInferenceUrl,
      adminToken: config.inference.adminToken,
      actionsEnabled: mcp.actionsEnabled,
      principal: { role: "agent", name: "mcp-stdio" },
      limits: mcp.limits,
      proposalTtlSeconds: mcp.proposalTtlSeconds,
    });
    await serveStdio(server, input, output);
  } finally {
    await store.close();
  }
}

/**
 * Embedded mode: the store lives in a child whose stdin is /dev/null (see stdio-child.ts for why);
 * this process only copies bytes between its own stdin/stdout and the child's fd 3.
 */
async function relayToStoreChild(): Promise<void> {
  const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), fileURLToPath(new URL("./stdio-child.ts", import.meta.url))], {
    stdio: ["ignore", 2, 2, "pipe"],
    env: process.env,
  });
  const channel = child.stdio[3] as Duplex;
  process.stdin.pipe(channel);
  channel.pipe(process.stdout);
  const code = await new Promise<number>((resolve) => child.once("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0))));
  process.stdin.unpipe(channel);
  if (code !== 0) throw new StoreError(`the process serving the store exited with code ${code} (its reason is on stderr above)`);
}

/** A `serve` that refuses our token is worth a clear stop rather than a bridge that fails every call. */
async function serveRunning(url: string, token: string | undefined): Promise<boolean> {
  let status: number | null;
  try {
    status = await probeServe(url, token);
  } catch (err) {
    throw new StoreError((err as Error).message);
  }
  if (status === null) return false;
  if (status === 405) return true;
  if (status === 401 || status === 403) {
    throw new StoreError(`mlwatch serve at ${url} refused us (${status}); set MLWATCH_MCP_TOKEN to the token it was started with`);
  }
  throw new StoreError(`${url} (MLWATCH_URL) answered ${status}: it is not the MCP endpoint of mlwatch serve`);
}
