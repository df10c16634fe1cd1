import type { Readable, Writable } from "node:stream";
import type { McpServer } from "@modelcontextprotocol/server";
import { serveStdio as serveConnection, StdioServerTransport } from "@modelcontextprotocol/server/stdio";

/**
 * Serves a server from `build` over a byte stream pair (this process's stdin/stdout by default)
 * until input ends. The client's opening picks the era: `server/discover` pins the connection to
 * the 2026-07-28 revision, a 2025-era `initialize` to the version it negotiates.
 */
export async function serveStdio(build: () => McpServer, input: Readable = process.stdin, output: Writable = process.stdout): Promise<void> {
  const ended = new Promise<void>((resolve) => {
    input.once("end", resolve);
    input.once("close", resolve);
  });
  const connection = serveConnection(build, { transport: new StdioServerTransport(input, output) });
  await ended;
  await connection.close();
}
