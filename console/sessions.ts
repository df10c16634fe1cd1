import { randomBytes } from "node:crypto";
import { tokenMatches } from "../http/auth.ts";

/** A person signed in as approver: who they said they are, and the CSRF token their forms carry. */
export interface Session {
  id: string;
  person: string;
  csrf: string;
  expiresAtMs: number;
}

export const SESSION_COOKIE = "mlwatch_session";

/**
 * Sessions in this process's memory: the token is checked once at sign-in and never kept; the
 * browser holds only a random session id (HttpOnly, SameSite=Strict). A restart of `serve` signs
 * everyone out, which costs a person one sign-in and keeps no credential on disk.
 */
export class Sessions {
  private readonly byId = new Map<string, Session>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  open(person: string): Session {
    this.sweep();
    const session = { id: random(), person, csrf: random(), expiresAtMs: this.now() + this.ttlMs };
    this.byId.set(session.id, session);
    return session;
  }

  find(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.byId.get(id);
    if (!s || s.expiresAtMs <= this.now()) return undefined;
    return s;
  }

  close(id: string): void {
    this.byId.delete(id);
  }

  private sweep(): void {
    const now = this.now();
    for (const [id, s] of this.byId) if (s.expiresAtMs <= now) this.byId.delete(id);
  }
}

/** The form's CSRF field against the session's, in constant time. */
export function csrfMatches(session: Session, given: unknown): boolean {
  return typeof given === "string" && tokenMatches(given, session.csrf);
}

function random(): string {
  return randomBytes(32).toString("base64url");
}

/** The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it), scoped to the console. */
export function sessionCookie(id: string, maxAgeSeconds: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? "; Secure" : ""}`;
}

export function clearedCookie(secure: boolean): string {
  return sessionCookie("", 0, secure);
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return v.join("=");
  }
  return undefined;
}
