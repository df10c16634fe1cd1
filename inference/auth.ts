import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";

/**
 * Bearer-token check in constant time: both sides are hashed first so neither the token's content
 * nor its length leaks through timing. Without a configured token the service is bound to loopback
 * (config.ts), so admin is reachable only from this machine.
 */
export function bearerGuard(token: string | undefined) {
  const expected = token ? digest(token) : undefined;
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!expected) {
      if (isLoopback(request.socket.remoteAddress)) return;
      return reply.code(403).send({ error: "forbidden", reason: "no admin token is configured, so admin is open to loopback only" });
    }
    const header = request.headers.authorization ?? "";
    const match = /^Bearer (.+)$/.exec(header);
    if (!match) return reply.code(401).send({ error: "unauthorized", field: "authorization", reason: "missing bearer token" });
    if (!timingSafeEqual(digest(match[1]!), expected)) {
      return reply.code(403).send({ error: "forbidden", field: "authorization", reason: "wrong token" });
    }
  };
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

function isLoopback(address: string | undefined): boolean {
  return !!address && (address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127."));
}
