import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ConfigError } from "../config.ts";
import { authenticateApprover, authenticateMcp, type HttpAuthPolicy, type RequestFacts } from "../mcp-server/auth.ts";
import { loadMcpConfig } from "../mcp-server/config.ts";
import { decodeCursor, encodeCursor, fitRows, withDeadline } from "../mcp-server/limits.ts";
import { effectiveStatus, ProposalError, transition, type Proposal, type ProposalEvent } from "../rollout/proposals.ts";
import { z } from "zod";

const T0 = 1_700_000_000_000_000;
const TTL = 3_600_000_000;

function proposal(): Proposal {
  return {
    id: "p1",
    model: "credit",
    action: "rollback",
    params: {},
    reason: "r",
    proposedBy: "agent",
    createdAt: T0,
    expiresAt: T0 + TTL,
    baseEventId: "e1",
    before: { primary: "2", previous: "1", canary: null, shadow: null },
    after: { primary: "1", previous: "2", canary: null, shadow: null },
    status: "pending",
    approvalId: "",
    decidedBy: "",
    decisionReason: "",
    decidedAt: 0,
    appliedBy: "",
    appliedEventId: "",
    error: "",
    supersededBy: "",
  };
}

const approve: ProposalEvent = { type: "approve", by: "alice", reason: "ok", approvalId: "a1" };

describe("the proposal state machine", () => {
  it("goes pending → approved → applying → applied, and nowhere after", () => {
    let p = transition(proposal(), approve, T0 + 1);
    expect(p).toMatchObject({ status: "approved", approvalId: "a1", decidedBy: "alice" });
    p = transition(p, { type: "begin_apply", by: "agent" }, T0 + 2);
    p = transition(p, { type: "applied", eventId: "e2" }, T0 + 3);
    expect(p).toMatchObject({ status: "applied", appliedEventId: "e2" });
    for (const e of [approve, { type: "begin_apply", by: "x" }, { type: "reject", by: "x", reason: "" }] as ProposalEvent[]) {
      expect(() => transition(p, e, T0 + 4)).toThrow(ProposalError);
    }
  });

  it("returns to approved when an apply changed nothing, and fails for good otherwise", () => {
    const applying = transition(transition(proposal(), approve, T0), { type: "begin_apply", by: "agent" }, T0);
    expect(transition(applying, { type: "apply_failed", error: "unreachable", retryable: true }, T0).status).toBe("approved");
    const failed = transition(applying, { type: "apply_failed", error: "409", retryable: false }, T0);
    expect(failed.status).toBe("failed");
    expect(() => transition(failed, { type: "begin_apply", by: "agent" }, T0)).toThrow(/failed when applied \(409\)/);
  });

  it("an edit supersedes a pending proposal only, for good: it can then be neither approved nor applied", () => {
    const edit: ProposalEvent = { type: "supersede", by: "dana", reason: "use v3", supersededBy: "p2" };
    const superseded = transition(proposal(), edit, T0);
    expect(superseded).toMatchObject({ status: "superseded", supersededBy: "p2", decidedBy: "dana", decisionReason: "use v3" });
    expect(() => transition(superseded, approve, T0)).toThrow(/edited by dana into proposal p2; only a pending proposal can be approved/);
    expect(() => transition(superseded, { type: "begin_apply", by: "agent" }, T0)).toThrow(/edited by dana into proposal p2; it can never be applied/);
    expect(() => transition(transition(proposal(), approve, T0), edit, T0)).toThrow(/only a pending proposal can be edited/);
  });

  it("expires pending and approved proposals at expiresAt", () => {
    const approved = transition(proposal(), approve, T0);
    expect(effectiveStatus(approved, T0 + TTL - 1)).toBe("approved");
    expect(effectiveStatus(approved, T0 + TTL)).toBe("expired");
    expect(() => transition(approved, { type: "begin_apply", by: "agent" }, T0 + TTL)).toThrow(/expired at .*can never be applied/);
    expect(() => transition(proposal(), approve, T0 + TTL)).toThrow(/expired/);
  });

  it("never reaches applied without an unexpired approval, and never applies twice, whatever the event order", () => {
    const event = fc.oneof(
      fc.constant<ProposalEvent>(approve),
      fc.constant<ProposalEvent>({ type: "reject", by: "bob", reason: "no" }),
      fc.constant<ProposalEvent>({ type: "supersede", by: "bob", reason: "edit", supersededBy: "p2" }),
      fc.constant<ProposalEvent>({ type: "begin_apply", by: "agent" }),
      fc.constant<ProposalEvent>({ type: "applied", eventId: "e2" }),
      fc.boolean().map<ProposalEvent>((retryable) => ({ type: "apply_failed", error: "x", retryable })),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(event, fc.integer({ min: 0, max: 2 * TTL })), { maxLength: 12 }), (steps) => {
        let p = proposal();
        let approvedAt: number | null = null;
        let applies = 0;
        for (const [e, dt] of steps) {
          const now = T0 + dt;
          let next: Proposal;
          try {
            next = transition(p, e, now);
          } catch (err) {
            expect(err).toBeInstanceOf(ProposalError);
            continue;
          }
          if (e.type === "approve") approvedAt = now;
          if (e.type === "begin_apply") {
            expect(approvedAt).not.toBeNull();
            expect(now).toBeLessThan(p.expiresAt);
            expect(p.status).toBe("approved");
          }
          if (next.status === "applied" && p.status !== "applied") applies++;
          p = next;
        }
        expect(applies).toBeLessThanOrEqual(1);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("the HTTP door", () => {
  const policy: HttpAuthPolicy = { mcpToken: "agent-token-0123456789", approverToken: "approver-token-0123456789", allowedOrigins: ["https://ok.example"] };
  const req = (over: Partial<RequestFacts>): RequestFacts => ({ authorization: undefined, origin: undefined, host: "127.0.0.1:8080", remoteAddress: "127.0.0.1", ...over });

  it("tells the agent from the approver by token, and refuses the rest", () => {
    expect(authenticateMcp(req({ authorization: "Bearer agent-token-0123456789" }), policy)).toMatchObject({ ok: true, principal: { role: "agent" } });
    expect(authenticateMcp(req({ authorization: "Bearer approver-token-0123456789" }), policy)).toMatchObject({ ok: true, principal: { role: "approver" } });
    expect(authenticateMcp(req({}), policy)).toMatchObject({ ok: false, status: 401 });
    expect(authenticateMcp(req({ authorization: "Bearer agent-token-012345678" }), policy)).toMatchObject({ ok: false, status: 403 });
    expect(authenticateApprover(req({ authorization: "Bearer agent-token-0123456789" }), policy)).toMatchObject({ ok: false, status: 403 });
    expect(authenticateApprover(req({ authorization: "Bearer approver-token-0123456789" }), { ...policy, approverToken: undefined })).toMatchObject({ ok: false, status: 403 });
  });

  it("checks the Origin before any token", () => {
    const auth = "Bearer approver-token-0123456789";
    expect(authenticateMcp(req({ authorization: auth, origin: "http://evil.example" }), policy)).toMatchObject({ ok: false, status: 403 });
    expect(authenticateApprover(req({ authorization: auth, origin: "null" }), policy)).toMatchObject({ ok: false, status: 403 });
    for (const origin of ["https://ok.example", "http://localhost:5173", "http://127.0.0.1:6274", "http://[::1]:3000"]) {
      expect(authenticateMcp(req({ authorization: auth, origin }), policy).ok, origin).toBe(true);
    }
  });

  it("without an MCP token serves loopback addresses with loopback Host names only", () => {
    const open: HttpAuthPolicy = { mcpToken: undefined, approverToken: undefined, allowedOrigins: [] };
    expect(authenticateMcp(req({ remoteAddress: "::ffff:127.0.0.1", host: "localhost:8080" }), open)).toMatchObject({ ok: true, principal: { role: "agent" } });
    expect(authenticateMcp(req({ remoteAddress: "192.168.1.5" }), open)).toMatchObject({ ok: false, status: 403 });
    expect(authenticateMcp(req({ host: "attacker.example:8080" }), open)).toMatchObject({ ok: false, status: 403 });
  });
});

describe("limits and configuration", () => {
  it("trims rows to a byte budget and round-trips cursors, refusing forged ones", () => {
    const rows = Array.from({ length: 100 }, (_, i) => ({ i, pad: "x".repeat(90) }));
    const { rows: kept, trimmed } = fitRows(rows, 2048);
    expect(trimmed).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(kept))).toBeLessThanOrEqual(2048);
    expect(Buffer.byteLength(JSON.stringify(rows.slice(0, kept.length + 1)))).toBeGreaterThan(2048);
    const schema = z.object({ offset: z.number().int().min(0) });
    expect(decodeCursor(encodeCursor({ offset: 42 }), schema)).toEqual({ offset: 42 });
    expect(() => decodeCursor(encodeCursor({ offset: -1 }), schema)).toThrow(/invalid cursor/);
    expect(() => decodeCursor("%%%", schema)).toThrow(/invalid cursor/);
  });

  it("answers at the deadline with an error that says so, and passes the abort on", async () => {
    let signalled: AbortSignal | undefined;
    const never = withDeadline(20, undefined, "slow_tool", (signal) => {
      signalled = signal;
      return new Promise<never>(() => undefined);
    });
    await expect(never).rejects.toThrow(/slow_tool did not finish within 0.02 s \(MLWATCH_MCP_CALL_TIMEOUT_S\)/);
    expect(signalled?.aborted).toBe(true);
    await expect(withDeadline(10_000, undefined, "fast", async () => 7)).resolves.toBe(7);
  });

  it("refuses an MCP token that would also open the approver or admin door", () => {
    expect(() => loadMcpConfig({ MLWATCH_MCP_TOKEN: "same-token-0123456789", MLWATCH_APPROVER_TOKEN: "same-token-0123456789" })).toThrow(ConfigError);
    expect(() => loadMcpConfig({ MLWATCH_MCP_TOKEN: "same-token-0123456789", MLWATCH_ADMIN_TOKEN: "same-token-0123456789" })).toThrow(ConfigError);
    expect(() => loadMcpConfig({ MLWATCH_MCP_ALLOWED_ORIGINS: "https://a.example/path" })).toThrow(/MLWATCH_MCP_ALLOWED_ORIGINS/);
    const c = loadMcpConfig({ MLWATCH_PORT: "9090", MLWATCH_MCP_ALLOWED_ORIGINS: "https://a.example, http://b.example:81" });
    expect(c).toMatchObject({ serveUrl: "http://127.0.0.1:9090/mcp", localInferenceUrl: "http://127.0.0.1:9090", allowedOrigins: ["https://a.example", "http://b.example:81"], actionsEnabled: false, proposalTtlSeconds: 3600 });
    expect(c.limits).toEqual({ defaultRows: 500, maxRows: 5000, maxResponseBytes: 262_144, callTimeoutMs: 20_000 });
  });
});
