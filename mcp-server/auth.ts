import { bearerToken, isLoopbackAddress, isLoopbackHost, loopbackHostnames, tokenMatches } from "../http/auth.ts";

/** Who is calling: the agent (any MCP client) or a person holding the approver credential. */
export interface Principal {
  role: "agent" | "approver";
  name: string;
}

export interface HttpAuthPolicy {
  mcpToken: string | undefined;
  approverToken: string | undefined;
  allowedOrigins: string[];
}

export interface RequestFacts {
  authorization: string | undefined;
  origin: string | undefined;
  host: string | undefined;
  remoteAddress: string | undefined;
}

export type AuthOutcome = { ok: true; principal: Principal } | { ok: false; status: 401 | 403; reason: string };

export const APPROVE_SCOPE = "mlwatch:approve";

/**
 * The /mcp door. Origin first (a browser page must not drive the server, whatever it holds), then
 * the bearer token: the approver token makes an approver, the MCP token an agent. With no MCP token
 * configured only loopback clients are served, and their Host must name loopback too, so a
 * rebinding DNS name cannot reach us through a local browser.
 */
export function authenticateMcp(req: RequestFacts, policy: HttpAuthPolicy): AuthOutcome {
  const origin = checkOrigin(req.origin, policy.allowedOrigins);
  if (origin) return origin;
  const bearer = bearerToken(req.authorization);
  if (bearer === null) return { ok: false, status: 401, reason: "malformed Authorization header: expected 'Bearer <token>'" };
  if (bearer !== undefined) {
    if (tokenMatches(bearer, policy.approverToken)) return { ok: true, principal: { role: "approver", name: "approver-token" } };
    if (tokenMatches(bearer, policy.mcpToken)) return { ok: true, principal: { role: "agent", name: "mcp-agent" } };
    return { ok: false, status: 403, reason: "wrong token" };
  }
  if (policy.mcpToken) return { ok: false, status: 401, reason: "missing bearer token (MLWATCH_MCP_TOKEN)" };
  if (!isLoopbackAddress(req.remoteAddress)) {
    return { ok: false, status: 403, reason: "no MLWATCH_MCP_TOKEN is configured, so /mcp serves loopback clients only" };
  }
  if (!isLoopbackHost(req.host) && !policy.allowedOrigins.some((o) => new URL(o).host === req.host)) {
    return { ok: false, status: 403, reason: `Host '${req.host ?? ""}' is not a loopback name (DNS rebinding protection)` };
  }
  return { ok: true, principal: { role: "agent", name: "mcp-local" } };
}

/** The approvals door: only the approver token opens it; without one configured it stays shut. */
export function authenticateApprover(req: RequestFacts, policy: HttpAuthPolicy): AuthOutcome {
  const origin = checkOrigin(req.origin, policy.allowedOrigins);
  if (origin) return origin;
  if (!policy.approverToken) {
    return { ok: false, status: 403, reason: "no MLWATCH_APPROVER_TOKEN is configured, so approvals over HTTP are disabled" };
  }
  const bearer = bearerToken(req.authorization);
  if (bearer === undefined || bearer === null) return { ok: false, status: 401, reason: "missing bearer token (MLWATCH_APPROVER_TOKEN)" };
  if (!tokenMatches(bearer, policy.approverToken)) return { ok: false, status: 403, reason: "wrong token: approvals take the approver token only" };
  return { ok: true, principal: { role: "approver", name: "approver-token" } };
}

function checkOrigin(origin: string | undefined, allowed: string[]): AuthOutcome | undefined {
  if (origin === undefined || isLoopbackOrigin(origin) || allowed.includes(origin)) return undefined;
  return { ok: false, status: 403, reason: `Origin '${origin}' is not allowed (set MLWATCH_MCP_ALLOWED_ORIGINS to admit it)` };
}

function isLoopbackOrigin(origin: string): boolean {
  try {
    const u = new URL(origin);
    return (u.protocol === "http:" || u.protocol === "https:") && loopbackHostnames.has(u.hostname);
  } catch {
    return false;
  }
}
