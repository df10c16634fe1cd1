import type { Readable, Writable } from "node:stream";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";

/** Serves `server` over a byte stream pair (this process's stdin/stdout by default) until input ends. */
export async function serveStdio(server: McpServer, input: Readable = process.stdin, output: Writable = process.stdout): Promise<void> {
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = resolve;
  });
  await server.connect(new StdioServerTransport(input, output));
  // The SDK's stdio transport does not notice end of input; the client closing its end ends the session.
  const end = () => void server.close();
  input.once("end", end);
  input.once("close", end);
  await closed;
}
