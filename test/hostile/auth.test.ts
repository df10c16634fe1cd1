import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearerToken, isLoopbackAddress, tokenMatches } from "../../http/auth.ts";
import { connectMcpClient } from "../helpers/mcp-stack.ts";
import { LOOPBACK, tempStore, type TempStore } from "../helpers/temp-store.ts";
import { ADMIN, AGENT, ALERT, APPROVER, startServingApp, type ServingApp } from "./serving-app.ts";

// Every door refuses a missing token with 401 and a wrong one with 403, and the agent's credential
// opens none but /mcp, where it still cannot approve. Loopback-only binding without tokens, and its
// start-up message, are checked on a real `mlwatch serve` in test/faults/kill-9.test.ts.

let t: TempStore;
let app: ServingApp;

beforeAll(async () => {
  t = await tempStore({ ...LOOPBACK, MLWATCH_ADMIN_TOKEN: ADMIN });
  app = await startServingApp(t);
}, 120_000);

afterAll(async () => {
  await app?.close();
  await t?.cleanup();
});

const doors = [
  { name: "admin", method: "GET", path: "/v1/admin/models/credit/traffic", token: ADMIN },
  { name: "mcp", method: "POST", path: "/mcp", token: AGENT, body: { jsonrpc: "2.0", id: 1, method: "tools/list" } },
  { name: "approvals", method: "POST", path: "/v1/approvals/p-1", token: APPROVER, body: { approver: "mallory" } },
  { name: "approvals list", method: "GET", path: "/v1/approvals", token: APPROVER },
  { name: "alerts", method: "POST", path: "/v1/alerts", token: ALERT, body: { version: "4", status: "firing", alerts: [] } },
];

async function knock(door: (typeof doors)[number], authorization: string | undefined): Promise<number> {
  const res = await fetch(app.svc.url + door.path, {
    method: door.method,
    headers: { ...(door.body ? { "content-type": "application/json", accept: "application/json, text/event-stream" } : {}), ...(authorization ? { authorization } : {}) },
    body: door.body ? JSON.stringify(door.body) : undefined,
  });
  await res.body?.cancel();
  return res.status;
}

describe("who may knock", () => {
  it.each(doors)("$name: 401 without a token, 403 with a wrong one, 401 for another scheme, and in with its own", async (door) => {
    expect(await knock(door, undefined)).toBe(401);
    expect(await knock(door, "Bearer wrong-token-0123456789")).toBe(403);
    expect(await knock(door, `Bearer ${door.token}x`)).toBe(403);
    expect(await knock(door, `Bearer ${door.token.slice(0, -1)}`)).toBe(403);
    expect(await knock(door, `Basic ${Buffer.from(`u:${door.token}`).toString("base64")}`)).toBe(401);
    // Past the door the request may still be wrong (no such model or proposal), but it is not refused.
    expect([401, 403]).not.toContain(await knock(door, `Bearer ${door.token}`));
  });

  it("the agent's credential opens no door but /mcp", async () => {
    for (const door of doors.filter((d) => d.name !== "mcp")) expect(await knock(door, `Bearer ${AGENT}`), door.name).toBe(403);
  });

  it("the agent's credential cannot approve through MCP: approve_action is not offered and is refused", async () => {
    const client = await connectMcpClient(`${app.svc.url}/mcp`, AGENT);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((x) => x.name)).toContain("propose_action");
      expect(tools.map((x) => x.name)).not.toContain("approve_action");
      // A tool the connection does not offer is refused as invalid params, not run.
      await expect(client.callTool({ name: "approve_action", arguments: { proposal_id: "p-1", decision: "approve" } })).rejects.toMatchObject({ code: -32602 });
    } finally {
      await client.close();
    }
  });
});

describe("the shared checks", () => {
  it("compares tokens of any length without throwing (hashed first), and only equal ones match", () => {
    expect(tokenMatches("a", "a-much-longer-expected-token")).toBe(false);
    expect(tokenMatches("a-much-longer-given-token-than-expected", "short")).toBe(false);
    expect(tokenMatches("same-token-0123456789", "same-token-0123456789")).toBe(true);
    expect(tokenMatches("", undefined)).toBe(false);
  });

  it("reads bearer headers strictly and tells loopback addresses apart", () => {
    expect(bearerToken(undefined)).toBeUndefined();
    expect(bearerToken("Bearer abc")).toBe("abc");
    expect(bearerToken("bearer abc")).toBe("abc");
    expect(bearerToken("Bearer")).toBeNull();
    expect(bearerToken("Bearer a b")).toBeNull();
    expect(bearerToken("Token abc")).toBeNull();
    expect(["127.0.0.1", "127.8.9.1", "::1", "::ffff:127.0.0.1"].every(isLoopbackAddress)).toBe(true);
    expect(["10.0.0.1", "::ffff:10.0.0.1", "1127.0.0.1", "", undefined].some(isLoopbackAddress)).toBe(false);
  });
});
