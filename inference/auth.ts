import type { FastifyReply, FastifyRequest } from "fastify";
import { bearerToken, isLoopbackAddress, tokenMatches } from "../http/auth.ts";

/**
 * The admin door. Without a configured token the service is bound to loopback (config.ts) and this
 * guard admits loopback callers only, so admin is reachable only from this machine.
 */
export function bearerGuard(token: string | undefined) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!token) {
      if (isLoopbackAddress(request.socket.remoteAddress)) return;
      return reply.code(403).send({ error: "forbidden", reason: "no admin token is configured, so admin is open to loopback only" });
    }
    const given = bearerToken(request.headers.authorization);
    if (!given) return reply.code(401).send({ error: "unauthorized", field: "authorization", reason: "missing bearer token" });
    if (!tokenMatches(given, token)) return reply.code(403).send({ error: "forbidden", field: "authorization", reason: "wrong token" });
  };
}
