import { createHash, timingSafeEqual } from "node:crypto";

/**
 * The bearer-token and loopback checks every door of mlwatch shares (admin API, /mcp and approvals,
 * the alert webhook), so that each door differs only in which token it takes and what it answers.
 */

/** The token of `Authorization: Bearer <token>`; undefined: no header; null: a header that is not a bearer token. */
export function bearerToken(header: string | undefined): string | undefined | null {
  if (header === undefined || header === "") return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : null;
}

/** Constant time: both sides are hashed first, so neither the expected token's content nor its length leaks. */
export function tokenMatches(given: string, expected: string | undefined): boolean {
  return !!expected && timingSafeEqual(digest(given), digest(expected));
}

export function isLoopbackAddress(address: string | undefined): boolean {
  return !!address && (address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127."));
}

export const loopbackHostnames = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** A Host header naming loopback: a rebinding DNS name that resolves to 127.0.0.1 does not pass. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  try {
    return loopbackHostnames.has(new URL(`http://${host}`).hostname);
  } catch {
    return false;
  }
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}
