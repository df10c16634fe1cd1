/**
 * Does a `mlwatch serve` answer at its MCP endpoint? null: nothing listens there (connection
 * refused); otherwise the HTTP status of a GET, which our endpoint answers 405 (or 401/403 when the
 * token is not the one it wants). Anything else unreachable is an error worth stopping for.
 */
export async function probeServe(url: string, token?: string): Promise<number | null> {
  try {
    const res = await fetch(url, { method: "GET", headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(3000) });
    await res.body?.cancel();
    return res.status;
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code;
    if (code === "ECONNREFUSED" || code === "EADDRNOTAVAIL") return null;
    throw new ServeProbeError(`something at ${url} (MLWATCH_URL) did not answer like mlwatch serve: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export class ServeProbeError extends Error {}
