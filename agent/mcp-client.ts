import { Client, SdkHttpError, StreamableHTTPClientTransport, type Transport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";

/**
 * An MCP client as mlwatch connects one: it probes with `server/discover` and speaks the 2026-07-28
 * revision where the server offers it, and falls back to the 2025 `initialize` handshake where not.
 */
export function mcpClient(name: string): Client {
  return new Client({ name, version: "0.1.0" }, { versionNegotiation: { mode: "auto" } });
}

/**
 * Connects `client` over `transport`. A server that turns us away at the door (a wrong token) gives
 * its reason in the body of the refusal; the SDK's error names only the status, so the reason is added.
 */
export async function connectOver(client: Client, transport: Transport): Promise<Client> {
  try {
    await client.connect(transport);
    return client;
  } catch (err) {
    const reason = SdkHttpError.isInstance(err) ? rpcErrorMessage(err.data.text) : undefined;
    throw reason ? new Error(`${(err as Error).message}: ${reason}`, { cause: err }) : err;
  }
}

function rpcErrorMessage(body: unknown): string | undefined {
  try {
    const message = (JSON.parse(String(body)) as { error?: { message?: unknown } }).error?.message;
    return typeof message === "string" ? message : undefined;
  } catch {
    return undefined;
  }
}

/** Streamable HTTP to `url`, with the bearer token when there is one. */
export function httpTransport(url: string, token: string | undefined): StreamableHTTPClientTransport {
  return new StreamableHTTPClientTransport(new URL(url), token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {});
}

/**
 * A spawned server over stdio that answers the era probe on its own connection. The SDK's base
 * transport probes on a second, short-lived process instead; `mlwatch mcp` in embedded mode opens
 * the store, which admits one process, so a second one would race the session's for the lock.
 * The SDK probes in place on any subclass.
 */
export class StdioTransport extends StdioClientTransport {}
