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
    // The tools are serve's: whether actions are offered is its MLWATCH_MCP_ACTIONS, not ours.
    if (mcp.actionsEnabled) log("MLWATCH_MCP_ACTIONS=1 is set here, but serve's own setting decides which tools it offers");
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
    const build = () =>
      createMcpServer({
        store,
        config,
        inferenceUrl: mcp.localInferenceUrl,
        adminToken: config.inference.adminToken,
        actionsEnabled: mcp.actionsEnabled,
        principal: { role: "agent", name: "mcp-stdio" },
        limits: mcp.limits,
        proposalTtlSeconds: mcp.proposalTtlSeconds,
      });
    await serveStdio(build, input, output);
  } finally {
    await store.close();
  }
}

/**
 * Embedded mode: the store lives in a child whose stdin is /dev/null (see stdio-child.ts for why);
 * this process only copies bytes between its own stdin/stdout and the child's fd 3. A child that
 * stops before it answered anything (the store is locked by another process) leaves the client's
 * opening request waiting: it, and every request after it until the client hangs up, gets a
 * JSON-RPC error carrying the child's reason. A client whose `server/discover` probe is refused
 * tries `initialize` next, and a person should read the reason rather than "connection closed".
 */
async function relayToStoreChild(): Promise<void> {
  const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), fileURLToPath(new URL("./stdio-child.ts", import.meta.url))], {
    stdio: ["ignore", 2, "pipe", "pipe"],
    env: process.env,
  });
  let reason = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    process.stderr.write(chunk);
    reason = lastReason(chunk.toString("utf8")) ?? reason;
  });
  const channel = child.stdio[3] as Duplex;
  // Writes to a child that has gone fail with EPIPE or ECONNRESET; its exit code says why.
  channel.on("error", () => undefined);
  const requests = new RequestIds();
  let answered = false;
  channel.once("data", () => (answered = true));
  process.stdin.on("data", requests.read);
  process.stdin.pipe(channel);
  channel.pipe(process.stdout);
  const code = await new Promise<number>((resolve) => child.once("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0))));
  process.stdin.unpipe(channel);
  const message = reason || `the process serving the store exited with code ${code}`;
  if (code !== 0 && !answered) {
    requests.answerWith((id) => writeError(id, message));
    // Unpiping the last destination paused stdin; the requests still to come must be read.
    process.stdin.resume();
    await inputEnded();
  }
  process.stdin.off("data", requests.read);
  if (code === 0) return;
  // Its reason is already on stderr, from the child.
  throw new StoreError(reason ? `the process serving the store exited with code ${code}` : message);
}

/** The last line the store child wrote about itself, without its prefix. */
function lastReason(text: string): string | undefined {
  return text
    .split("\n")
    .filter((l) => l.startsWith("mlwatch mcp: "))
    .at(-1)
    ?.slice("mlwatch mcp: ".length);
}

type RequestId = string | number;

/** Ids of the requests in newline-delimited JSON-RPC (the stdio transport's framing). */
class RequestIds {
  private readonly pending: RequestId[] = [];
  private answer: ((id: RequestId) => void) | undefined;
  private partial = "";

  read = (chunk: Buffer): void => {
    const lines = (this.partial + chunk.toString("utf8")).split("\n");
    this.partial = lines.pop()!;
    for (const line of lines) {
      try {
        const m = JSON.parse(line) as { id?: unknown; method?: unknown };
        if (typeof m.method === "string" && (typeof m.id === "string" || typeof m.id === "number")) this.found(m.id);
      } catch {
        // not JSON: the child would have answered it with a parse error; nothing to answer here
      }
    }
  };

  /** From now on `answer` gets every request: those read so far first, then each as it comes. */
  answerWith(answer: (id: RequestId) => void): void {
    this.answer = answer;
    for (const id of this.pending.splice(0)) answer(id);
  }

  private found(id: RequestId): void {
    if (this.answer) this.answer(id);
    else this.pending.push(id);
  }
}

function writeError(id: RequestId, message: string): void {
  process.stdout.write(JSON.stringify({ jsonrpc: "2.0", id, error: { code: -32603, message: `mlwatch mcp: ${message}` } }) + "\n");
}

/** Resolves once the client has closed this process's stdin (at once if it already has). */
function inputEnded(): Promise<void> {
  if (process.stdin.readableEnded || process.stdin.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    process.stdin.once("end", resolve);
    process.stdin.once("close", resolve);
  });
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
