import { isLoopbackAddress, isLoopbackHost, tokenMatches } from "../http/auth.ts";
import { csrfMatches, type Session } from "./sessions.ts";

/** The credentials the console knows of: the approver's signs a person in; the agent's is named only to be refused. */
export interface ConsoleTokens {
  approverToken: string | undefined;
  agentToken: string | undefined;
}

/** Who is looking at a page. */
export interface Viewer {
  session: Session | undefined;
  /** An approver token is configured, so signing in is possible. */
  canSignIn: boolean;
}

export interface RequestFacts {
  remoteAddress: string | undefined;
  host: string | undefined;
  origin: string | undefined;
  /** "http" or "https", as the request arrived. */
  protocol: string;
}

export type Refusal = { status: 401 | 403; reason: string };

/**
 * Reading: a signed-in approver from anywhere; otherwise loopback clients only (their Host naming
 * loopback too, against DNS rebinding), as the admin API and /mcp are without tokens. Elsewhere a
 * person signs in first (`signin`), or, without an approver token configured, is refused.
 */
export function readAccess(req: RequestFacts, session: Session | undefined, tokens: ConsoleTokens): Viewer | Refusal | "signin" {
  const canSignIn = !!tokens.approverToken;
  if (session) return { session, canSignIn };
  if (isLoopbackAddress(req.remoteAddress) && isLoopbackHost(req.host)) return { session: undefined, canSignIn };
  if (canSignIn) return "signin";
  return { status: 403, reason: "no MLWATCH_APPROVER_TOKEN is configured, so the console is read-only and serves loopback clients only" };
}

/** Sign-in: the approver token, once. The agent's token is refused by name: the agent never approves. */
export function signInRefusal(token: string, tokens: ConsoleTokens): Refusal | undefined {
  if (!tokens.approverToken) return { status: 403, reason: "no MLWATCH_APPROVER_TOKEN is configured, so the console is read-only" };
  if (tokenMatches(token, tokens.approverToken)) return undefined;
  if (tokenMatches(token, tokens.agentToken)) return { status: 403, reason: "that is the agent's token (MLWATCH_MCP_TOKEN); the agent can never approve: sign in with the approver token" };
  return { status: 403, reason: "wrong token: the console takes the approver token (MLWATCH_APPROVER_TOKEN)" };
}

/**
 * A state-changing request: a browser's Origin, when sent, must be this very console; then the
 * session and its CSRF token. SameSite=Strict already keeps the cookie off other sites' requests;
 * the token also stops a same-site page that is not the console.
 */
export function changeRefusal(req: RequestFacts, session: Session | undefined, csrf: unknown): Refusal | undefined {
  const origin = originRefusal(req);
  if (origin) return origin;
  if (!session) return { status: 401, reason: "not signed in: sign in as approver first" };
  if (!csrfMatches(session, csrf)) return { status: 403, reason: "missing or wrong CSRF token (field csrf); reload the page and try again" };
  return undefined;
}

export function originRefusal(req: RequestFacts): Refusal | undefined {
  if (req.origin === undefined || req.origin === `${req.protocol}://${req.host}`) return undefined;
  return { status: 403, reason: `Origin '${req.origin}' is not this console` };
}

export function isRefusal(x: Viewer | Refusal | "signin"): x is Refusal {
  return typeof x === "object" && "status" in x;
}
