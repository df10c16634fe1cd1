import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Fastify, { type FastifyInstance } from "fastify";
import type { Client } from "@modelcontextprotocol/client";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { registerMcpHttp } from "../mcp-server/transports/http.ts";
import { connectMcpClient } from "./helpers/mcp-stack.ts";
import { seedDriftScenario, type DriftScenario } from "./helpers/seed-store.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

const AGENT = "test-agent-token-0123456789";
const APPROVER = "test-approver-token-0123456789";
const ALLOWED = "https://console.example.com";

let t: TempStore;
let s: DriftScenario;
/** Token-protected, as `serve` runs with MLWATCH_MCP_TOKEN. */
let secured: FastifyInstance;
let securedUrl: string;
/** No token: loopback only; tiny limits. */
let open: FastifyInstance;
let openUrl: string;
let client: Client;

async function call(name: string, args: Record<string, unknown>, c = client): Promise<CallToolResult> {
  return (await c.callTool({ name, arguments: args })) as CallToolResult;
}

const text = (r: CallToolResult) => r.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");

async function ok(name: string, args: Record<string, unknown>, c = client): Promise<{ data: Record<string, any>; summary: string }> {
  const r = await call(name, args, c);
  if (r.isError) throw new Error(`${name} failed: ${text(r)}`);
  const first = r.content[0];
  return { data: r.structuredContent as Record<string, any>, summary: first?.type === "text" ? first.text : "" };
}

const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
});

/** A raw POST, with full control of the headers (Host included, which fetch will not set). */
function post(url: string, headers: Record<string, string>, body = initialize): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers } }, (res) => {
      let data = "";
      res.on("data", (c: Buffer) => (data += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function startApp(options: Omit<Parameters<typeof registerMcpHttp>[1], "deps"> & { limits?: Record<string, number> }): Promise<[FastifyInstance, string]> {
  const app = Fastify();
  const { limits, ...rest } = options;
  await registerMcpHttp(app, { ...rest, deps: { store: t.store, config: t.config, adminToken: undefined, actionsEnabled: false, limits } });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return [app, `${url}/mcp`];
}

beforeAll(async () => {
  t = await tempStore();
  s = await seedDriftScenario(t.store, t.config.modelDir);
  [secured, securedUrl] = await startApp({ mcpToken: AGENT, approverToken: APPROVER, allowedOrigins: [ALLOWED] });
  [open, openUrl] = await startApp({ mcpToken: undefined, approverToken: undefined, allowedOrigins: [], limits: { maxResponseBytes: 16_384, defaultRows: 50 } });
  client = await connectMcpClient(securedUrl, AGENT);
}, 180_000);

afterAll(async () => {
  await client?.close();
  await secured?.close();
  await open?.close();
  await t?.cleanup();
});

const sixHours = { lastSeconds: 6 * 3600 };

describe("tools over Streamable HTTP", () => {
  it("lists the fourteen read-only tools with schemas and annotations, and no actions when they are off", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((x) => x.name).sort()).toEqual(
      ["compare_model_versions", "detect_data_drift", "explain_prediction", "find_failing_segments", "get_deployment_history", "get_feature_distribution", "get_incident", "get_model_accuracy", "get_model_health", "get_rollout", "get_segment_performance", "list_incidents", "list_models", "query_inference_logs"].sort(),
    );
    for (const tool of tools) {
      expect(tool.annotations).toEqual({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false });
      expect(tool.outputSchema?.type).toBe("object");
      expect(tool.description!.length).toBeGreaterThan(80);
    }
  });

  it("list_models names the model, its versions and who serves", async () => {
    const { data, summary } = await ok("list_models", {});
    expect(data.models).toHaveLength(1);
    expect(data.models[0]).toMatchObject({ model: "credit", traffic: { primary: s.v1.version, canary: { version: s.v2.version } } });
    expect(data.models[0].versions.map((v: { version: string }) => v.version)).toEqual([s.v1.version, s.v2.version]);
    expect(summary).toMatch(/credit: 2 version\(s\), primary v1/);
  });

  it("get_model_health counts what was served and groups the errors by reason", async () => {
    const { data, summary } = await ok("get_model_health", { model: "credit", window: sixHours });
    const served = s.seeded.baseline.requestIds.length + s.seeded.drifted.requestIds.length + s.seeded.canaryV1.requestIds.length + s.seeded.canaryV2.requestIds.length;
    expect(data.served.rows).toBe(served);
    expect(data.served.errors).toBe(s.seeded.baseline.errors);
    expect(data.errorsByReason[0]).toMatchObject({ reason: "inference_failed", rows: s.seeded.baseline.errors });
    expect(summary).toContain(`served ${served} rows, ${s.seeded.baseline.errors} errors`);
  });

  it("get_model_accuracy finds the accuracy drop after the drift, against the held-out figure and in the trend", async () => {
    const accuracy = (w: { fromUs: number; toUs: number }) => ok("get_model_accuracy", { model: "credit", version: s.v1.version, window: w });
    const before = await accuracy(s.windows.baseline);
    const after = await accuracy(s.windows.drifted);
    expect(before.data.accuracy).toBeCloseTo(s.seeded.baseline.correct / s.seeded.baseline.labelled, 10);
    expect(after.data.accuracy).toBeCloseTo(s.seeded.drifted.correct / s.seeded.drifted.labelled, 10);
    expect(after.data.accuracy).toBeLessThan(before.data.accuracy - 0.05);
    expect(after.data.baselineAccuracy).toBe(s.trained.v1.metrics.accuracy);
    const drop = ((after.data.accuracy - s.trained.v1.metrics.accuracy) * 100).toFixed(1).replace("-", "−");
    expect(after.summary).toContain(`vs ${(s.trained.v1.metrics.accuracy * 100).toFixed(1)}% held-out (${drop} pts)`);

    const trend = await ok("get_model_accuracy", { model: "credit", version: s.v1.version, window: sixHours, bucketSeconds: 1800 });
    const solid = trend.data.trend.filter((b: { labelled: number }) => b.labelled >= 30);
    const lowest = Math.min(...solid.map((b: { accuracy: number }) => b.accuracy));
    expect(lowest).toBeLessThan(before.data.accuracy);
    expect(trend.summary).toContain(`lowest ${(lowest * 100).toFixed(1)}%`);
  });

  it("detect_data_drift names income as the drifted feature in the drifted window, and not before", async () => {
    const drifted = await ok("detect_data_drift", { model: "credit", version: s.v1.version, window: s.windows.drifted });
    expect(drifted.data.features[0]).toMatchObject({ feature: s.driftedFeature, drifted: true });
    expect(drifted.data.dataset.driftedFeatures).toContain(s.driftedFeature);
    expect(drifted.summary).toMatch(/Drifted features: income \(PSI/);
    const calm = await ok("detect_data_drift", { model: "credit", version: s.v1.version, window: s.windows.baseline });
    expect(calm.data.features.find((f: { feature: string }) => f.feature === s.driftedFeature).drifted).toBe(false);
  });

  it("get_feature_distribution shows how far income moved", async () => {
    const { data, summary } = await ok("get_feature_distribution", { model: "credit", feature: "income", version: s.v1.version, window: s.windows.drifted });
    expect(data.type).toBe("numeric");
    expect(data.rows).toBe(s.seeded.drifted.requestIds.length);
    expect(data.stats.current.mean).toBeGreaterThan(data.stats.reference.mean);
    expect(summary).toMatch(/\(\+[12]\.\d\d training std\)/);
  });

  it("compare_model_versions picks the better version on the same requests (shadow) and on split traffic (canary)", async () => {
    const shadow = await ok("compare_model_versions", { model: "credit", versionA: s.v1.version, versionB: s.v2.version, window: s.windows.drifted, mode: "shadow" });
    expect(shadow.data.better).toBe(s.betterVersion);
    expect(shadow.data.shadow.pairs).toBe(s.seeded.shadow.requestIds.length);
    expect(shadow.summary).toContain(`Better: v${s.betterVersion}.`);
    const canary = await ok("compare_model_versions", { model: "credit", versionA: s.v1.version, versionB: s.v2.version, window: s.windows.canary });
    expect(canary.data.better).toBe(s.betterVersion);
  });

  it("query_inference_logs pages through the model's mistakes with a cursor, and groups", async () => {
    const first = await ok("query_inference_logs", { model: "credit", version: s.v1.version, window: s.windows.drifted, correct: false, limit: 10 });
    expect(first.data.rows).toHaveLength(10);
    expect(first.data.rows.every((r: { correct: boolean }) => r.correct === false)).toBe(true);
    expect(first.data.truncated).toBe(true);
    const second = await ok("query_inference_logs", { model: "credit", version: s.v1.version, window: s.windows.drifted, correct: false, limit: 10, cursor: first.data.nextCursor });
    const ids = new Set([...first.data.rows, ...second.data.rows].map((r: { requestId: string }) => r.requestId));
    expect(ids.size).toBe(20);
    const grouped = await ok("query_inference_logs", { model: "credit", version: s.v1.version, variant: "primary", window: s.windows.drifted, groupBy: "predicted" });
    expect(grouped.data.groups.reduce((a: number, g: { rows: number }) => a + g.rows, 0)).toBe(s.seeded.drifted.requestIds.length);
    const wrong = s.seeded.drifted.labelled - s.seeded.drifted.correct;
    const counted = await ok("query_inference_logs", { model: "credit", version: s.v1.version, variant: "primary", window: s.windows.drifted, correct: false, limit: 5000 });
    expect(counted.data.rows).toHaveLength(wrong);
  });

  it("get_deployment_history returns the audit log", async () => {
    const { data } = await ok("get_deployment_history", { model: "credit" });
    expect(data.events.map((e: { action: string }) => e.action)).toEqual(["deploy", "register", "register"]);
    expect(data.events[0].state).toMatchObject({ primary: s.v1.version });
    expect(data.truncated).toBe(false);
  });
});

describe("tool errors, never exceptions", () => {
  it("names the bad argument", async () => {
    const badType = await call("get_model_accuracy", { model: "credit", window: { lastSeconds: "an hour" } });
    expect(badType.isError).toBe(true);
    expect(text(badType)).toMatch(/window\.lastSeconds/);
    expect(badType.structuredContent).toBeUndefined();
    const extra = await call("get_model_health", { model: "credit", windw: { lastSeconds: 60 } });
    expect(text(extra)).toMatch(/windw/);
    const missing = await call("get_feature_distribution", { model: "credit" });
    expect(text(missing)).toMatch(/feature/);
  });

  it("says which model or feature is unknown", async () => {
    for (const tool of ["get_model_accuracy", "detect_data_drift", "get_model_health", "query_inference_logs", "get_deployment_history"]) {
      const r = await call(tool, { model: "nope" });
      expect(r.isError, tool).toBe(true);
      expect(text(r), tool).toMatch(/unknown model 'nope'/);
    }
    for (const [tool, args] of [
      ["compare_model_versions", { versionA: "1", versionB: "2" }],
      ["get_feature_distribution", { feature: "income" }],
    ] as const) {
      const r = await call(tool, { model: "nope", ...args });
      expect(r.isError, tool).toBe(true);
      expect(text(r), tool).toMatch(/unknown model 'nope'|'nope'/);
    }
    const feature = await call("get_feature_distribution", { model: "credit", feature: "shoe_size" });
    expect(feature.isError).toBe(true);
    expect(text(feature)).toMatch(/shoe_size/);
  });

  it("caps rows: a limit over the maximum is refused, and a large page is trimmed to the response cap with a cursor that continues", async () => {
    const tooMany = await call("query_inference_logs", { model: "credit", limit: 6000 });
    expect(tooMany.isError).toBe(true);
    expect(text(tooMany)).toMatch(/limit/);

    const small = await connectMcpClient(openUrl);
    try {
      const page = await ok("query_inference_logs", { model: "credit", version: s.v1.version, variant: "primary", window: s.windows.drifted, limit: 500 }, small);
      expect(page.data.rows.length).toBeGreaterThan(0);
      expect(page.data.rows.length).toBeLessThan(500);
      expect(page.data.truncated).toBe(true);
      expect(page.data.notes.join(" ")).toMatch(/trimmed to \d+ rows/);
      expect(Buffer.byteLength(JSON.stringify(page.data))).toBeLessThanOrEqual(16_384);
      const next = await ok("query_inference_logs", { model: "credit", version: s.v1.version, variant: "primary", window: s.windows.drifted, limit: 1, cursor: page.data.nextCursor }, small);
      const all = await ok("query_inference_logs", { model: "credit", version: s.v1.version, variant: "primary", window: s.windows.drifted, limit: page.data.rows.length + 1 });
      expect(next.data.rows[0].requestId).toBe(all.data.rows[page.data.rows.length].requestId);
      const defaulted = await ok("get_deployment_history", { model: "credit" }, small);
      expect(defaulted.data.events).toHaveLength(3);
    } finally {
      await small.close();
    }
  });
});

describe("the protocol", () => {
  it("speaks the 2026-07-28 revision with a client that offers it, advertising completions", () => {
    expect(client.getProtocolEra()).toBe("modern");
    expect(client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
    expect(client.getServerCapabilities()).toMatchObject({ tools: {}, prompts: {}, completions: {} });
  });
});

describe("the investigate_model prompt", () => {
  it("lists the tools in investigation order and completes model names", async () => {
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(["investigate_model"]);
    const prompt = await client.getPrompt({ name: "investigate_model", arguments: { model: "credit" } });
    const body = prompt.messages[0]!.content.type === "text" ? prompt.messages[0]!.content.text : "";
    const order = ["get_model_health", "get_model_accuracy", "detect_data_drift", "get_feature_distribution", "query_inference_logs", "get_deployment_history", "compare_model_versions"];
    const positions = order.map((tool) => body.indexOf(tool));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(body).not.toContain("propose_action");
    const completion = await client.complete({ ref: { type: "ref/prompt", name: "investigate_model" }, argument: { name: "model", value: "cr" } });
    expect(completion.completion.values).toEqual(["credit"]);
  });
});

describe("who may call", () => {
  it("refuses a missing token with 401 and a wrong one with 403", async () => {
    const none = await post(securedUrl, {});
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error.message).toMatch(/missing bearer token/);
    expect((await post(securedUrl, { authorization: "Bearer not-the-token-at-all" })).status).toBe(403);
    expect((await post(securedUrl, { authorization: "Basic dXNlcjpwYXNz" })).status).toBe(401);
    await expect(connectMcpClient(securedUrl, "wrong-token-0123456789")).rejects.toThrow(/wrong token/);
  });

  it("refuses a foreign Origin, admits loopback and configured origins", async () => {
    const auth = { authorization: `Bearer ${AGENT}` };
    const evil = await post(securedUrl, { ...auth, origin: "http://evil.example.com" });
    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.body).error.message).toMatch(/Origin 'http:\/\/evil.example.com' is not allowed/);
    expect((await post(securedUrl, { ...auth, origin: ALLOWED })).status).toBe(200);
    expect((await post(securedUrl, { ...auth, origin: "http://localhost:6274" })).status).toBe(200);
  });

  it("without a token serves loopback clients whose Host is loopback, and nobody else", async () => {
    expect((await post(openUrl, {})).status).toBe(200);
    const rebound = await post(openUrl, { host: "evil.example.com", origin: "http://evil.example.com" });
    expect(rebound.status).toBe(403);
    expect((await post(openUrl, { host: "evil.example.com" })).status).toBe(403);
    const remote = await open.inject({ method: "POST", url: "/mcp", remoteAddress: "10.1.2.3", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, payload: initialize });
    expect(remote.statusCode).toBe(403);
    expect(remote.json().error.message).toMatch(/loopback clients only/);
  });

  it("answers JSON-RPC errors for bad bodies and 405 for GET/DELETE (stateless)", async () => {
    const auth = { authorization: `Bearer ${AGENT}` };
    const bad = await post(securedUrl, auth, "{not json");
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.code).toBe(-32700);
    expect((await fetch(securedUrl, { headers: auth })).status).toBe(405);
    expect((await fetch(securedUrl, { method: "DELETE", headers: auth })).status).toBe(405);
  });

  it("keeps the approvals route shut to the agent token and to everyone when no approver token is set", async () => {
    const approvals = securedUrl.replace(/\/mcp$/, "/v1/approvals/some-id");
    const asAgent = await fetch(approvals, { method: "POST", headers: { authorization: `Bearer ${AGENT}`, "content-type": "application/json" }, body: JSON.stringify({ approver: "me" }) });
    expect(asAgent.status).toBe(403);
    const unknown = await fetch(approvals, { method: "POST", headers: { authorization: `Bearer ${APPROVER}`, "content-type": "application/json" }, body: JSON.stringify({ approver: "me" }) });
    expect(unknown.status).toBe(404);
    const openApprovals = openUrl.replace(/\/mcp$/, "/v1/approvals/some-id");
    const shut = await fetch(openApprovals, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ approver: "me" }) });
    expect(shut.status).toBe(403);
    expect(((await shut.json()) as { reason: string }).reason).toMatch(/no MLWATCH_APPROVER_TOKEN/);
  });
});
