import { isInitializeRequest, isJSONRPCRequest, isJSONRPCResultResponse, StreamableHTTPClientTransport, type JSONRPCMessage } from "@modelcontextprotocol/client";
import { StdioServerTransport } from "@modelcontextprotocol/server/stdio";

/**
 * stdio ⇄ Streamable HTTP: forwards every JSON-RPC message between a stdio client (Claude Desktop)
 * and the MCP endpoint of a running `mlwatch serve`, which owns the embedded store. The bridge holds
 * no MCP state of its own. A 2026-07-28 request carries its revision in its own envelope, from which
 * the HTTP transport derives the headers; a 2025-era client negotiates once, in `initialize`, so
 * that version is carried into the headers of every later message.
 */
export async function bridgeStdioToHttp(url: URL, token: string | undefined, log: (line: string) => void): Promise<void> {
  const stdio = new StdioServerTransport();
  const http = new StreamableHTTPClientTransport(url, token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {});
  const initializeIds = new Set<string | number>();

  stdio.onmessage = (message: JSONRPCMessage) => {
    if (isInitializeRequest(message) && isJSONRPCRequest(message)) initializeIds.add(message.id);
    http.send(message).catch((err: unknown) => {
      const reason = err instanceof Error ? err.message : String(err);
      log(`forwarding to ${url.href} failed: ${reason}`);
      if (isJSONRPCRequest(message)) {
        void stdio.send({ jsonrpc: "2.0", id: message.id, error: { code: -32000, message: `mlwatch serve at ${url.href}: ${reason}` } });
      }
    });
  };
  http.onmessage = (message: JSONRPCMessage) => {
    if (isJSONRPCResultResponse(message) && initializeIds.delete(message.id)) {
      const version = (message.result as { protocolVersion?: unknown }).protocolVersion;
      if (typeof version === "string") http.setProtocolVersion(version);
    }
    void stdio.send(message);
  };
  http.onerror = (err) => log(`HTTP transport: ${err.message}`);
  stdio.onerror = (err) => log(`stdio transport: ${err.message}`);

  const closed = new Promise<void>((resolve) => {
    const end = () => resolve();
    process.stdin.once("end", end);
    process.stdin.once("close", end);
  });
  await http.start();
  await stdio.start();
  await closed;
  await stdio.close();
  await http.close();
}
