import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, expect, it } from "vitest";
import { generateCredit } from "../../models/datasets/credit.ts";
import { connectMcpClient, TOKENS } from "../helpers/mcp-stack.ts";
import { runCli, startServe, type ServeProcess } from "../helpers/serve-process.ts";

// kill -9 of `mlwatch serve` while a rollout plan shadows its candidate, and while it serves it as a
// canary: the plan lives in the store, so the restarted process serves the same traffic state and the
// plan goes on from its stage.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-rollout-kill-"));
const canaryDir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-rollout-kill-canary-"));
const env = {
  MLWATCH_DATA_DIR: dir,
  MLWATCH_LOG_FLUSH_MS: "200",
  MLWATCH_MCP_ACTIONS: "1",
  MLWATCH_ADMIN_TOKEN: TOKENS.admin,
  MLWATCH_MCP_TOKEN: TOKENS.agent,
  MLWATCH_APPROVER_TOKEN: TOKENS.approver,
  MLWATCH_HOST: "127.0.0.1",
};
const data = generateCredit(2600, 9);
// The relation between inputs and labels turned around: a candidate retrained on it beats v1 by far,
// so the shadow gate passes within its first look and the plan reaches the canary.
const fresh = generateCredit(6000, 10);
const turned = { ...fresh, examples: fresh.examples.map((e) => ({ ...e, label: 1 - e.label })) };
let server: ServeProcess | undefined;
const clients: Client[] = [];

beforeAll(async () => {
  await runCli(["train", "--name", "credit", "--rows", "2000"], env);
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await server?.stop("SIGKILL");
  for (const d of [dir, canaryDir]) fs.rmSync(d, { recursive: true, force: true });
});

async function post(route: string, body: unknown, token?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(server!.url + route, { method: "POST", headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

/** Predictions for rows [from, to) in requests of `batch` rows, then their labels. */
async function labelledTraffic(from: number, to: number, set = data, batch = 100): Promise<void> {
  for (let i = from; i < to; i += batch) {
    const slice = set.examples.slice(i, Math.min(to, i + batch));
    const r = await post("/v1/models/credit/predict", { instances: slice.map((e) => e.row) });
    expect(r.status).toBe(200);
    const labels = r.json.predictions.map((p: { request_id: string }, j: number) => ({ request_id: p.request_id, label: data.schema.classes[slice[j]!.label] }));
    expect((await post("/v1/feedback", { labels })).status).toBe(200);
  }
}

async function tool(client: Client, name: string, args: Record<string, unknown>): Promise<any> {
  const r = (await client.callTool({ name, arguments: args })) as { isError?: boolean; structuredContent?: unknown; content: { text?: string }[] };
  if (r.isError) throw new Error(`${name}: ${r.content.map((c) => c.text).join(" ")}`);
  return r.structuredContent;
}

async function connect(token: string): Promise<Client> {
  const c = await connectMcpClient(`${server!.url}/mcp`, token);
  clients.push(c);
  return c;
}

it("a plan in its shadow stage survives kill -9 of serve: same traffic after restart, and it goes on from there", async () => {
  server = await startServe(env);
  expect((await post("/v1/admin/models/credit/deploy", { version: "1", role: "primary", actor: "test", reason: "setup" }, TOKENS.admin)).status).toBe(200);
  await labelledTraffic(0, 1300);

  const agent = await connect(TOKENS.agent);
  const approver = await connect(TOKENS.approver);
  const p = await tool(agent, "propose_action", { model: "credit", action: "retrain", reason: "test: learn the recent traffic" });
  await tool(approver, "approve_action", { proposal_id: p.proposal_id, decision: "approve", approver: "alice", reason: "go" });
  await new Promise((r) => setTimeout(r, 500)); // the labels' flush
  const applied = await tool(agent, "apply_action", { proposal_id: p.proposal_id });
  const plan = (await tool(agent, "advance_rollout", { plan_id: applied.rollout.id })) as { id: string; candidateVersion: string; current: number; stages: { name: string; status: string }[] };
  expect(plan.stages[plan.current]).toMatchObject({ name: "shadow", status: "running" });

  await server.stop("SIGKILL");
  server = await startServe(env);
  const traffic = await fetch(`${server.url}/v1/admin/models/credit/traffic`, { headers: { authorization: `Bearer ${TOKENS.admin}` } });
  expect(((await traffic.json()) as { state: unknown }).state).toMatchObject({ primary: "1", shadow: { version: plan.candidateVersion, percent: 100 } });

  await labelledTraffic(1300, 1700);
  await new Promise((r) => setTimeout(r, 500));
  const agentAgain = await connect(TOKENS.agent);
  const resumed = await tool(agentAgain, "advance_rollout", { plan_id: plan.id });
  expect(resumed).toMatchObject({ id: plan.id, status: "running", current: plan.current });
  expect(resumed.stages[plan.current].figures.labelled_pairs).toBeGreaterThan(0);
  const aborted = await tool(agentAgain, "abort_rollout", { plan_id: plan.id, by: "alice", reason: "test over" });
  expect(aborted.status).toBe("aborted");
}, 180_000);

it("a plan in its canary stage survives kill -9 of serve: the canary is served again after restart, and the plan goes on to the next share", async () => {
  const canaryEnv = { ...env, MLWATCH_DATA_DIR: canaryDir };
  await runCli(["train", "--name", "credit", "--rows", "2000"], canaryEnv);
  server = await startServe(canaryEnv);
  expect((await post("/v1/admin/models/credit/deploy", { version: "1", role: "primary", actor: "test", reason: "setup" }, TOKENS.admin)).status).toBe(200);
  await labelledTraffic(0, 1300, turned);

  const agent = await connect(TOKENS.agent);
  const approver = await connect(TOKENS.approver);
  const p = await tool(agent, "propose_action", { model: "credit", action: "retrain", reason: "test: the labels turned around" });
  await tool(approver, "approve_action", { proposal_id: p.proposal_id, decision: "approve", approver: "alice", reason: "go" });
  await new Promise((r) => setTimeout(r, 500)); // the labels' flush
  const applied = await tool(agent, "apply_action", { proposal_id: p.proposal_id });
  const shadowing = (await tool(agent, "advance_rollout", { plan_id: applied.rollout.id })) as { id: string; candidateVersion: string; current: number; stages: { name: string; status: string }[] };
  expect(shadowing.stages[shadowing.current]).toMatchObject({ name: "shadow", status: "running" });
  await labelledTraffic(1300, 1700, turned);
  await new Promise((r) => setTimeout(r, 500));
  const plan = (await tool(agent, "advance_rollout", { plan_id: shadowing.id })) as typeof shadowing & { stages: { name: string; status: string; figures: Record<string, number> }[] };
  expect(plan.stages[plan.current]).toMatchObject({ name: "canary", status: "running" });
  expect(plan.stages[2]).toMatchObject({ name: "shadow", status: "passed" });

  await server.stop("SIGKILL");
  server = await startServe(canaryEnv);
  const state = async () => ((await (await fetch(`${server!.url}/v1/admin/models/credit/traffic`, { headers: { authorization: `Bearer ${TOKENS.admin}` } })).json()) as { state: unknown }).state;
  expect(await state()).toMatchObject({ primary: "1", canary: { version: plan.candidateVersion, percent: 10 } });

  // Requests of 10 rows: about one in ten goes to the canary, well over the 50 canary rows its gate needs.
  await labelledTraffic(1700, 4700, turned, 10);
  await new Promise((r) => setTimeout(r, 500));
  const agentAgain = await connect(TOKENS.agent);
  const resumed = (await tool(agentAgain, "advance_rollout", { plan_id: plan.id })) as typeof plan & { status: string };
  expect(resumed).toMatchObject({ id: plan.id, status: "running", current: plan.current + 1 });
  expect(resumed.stages[plan.current]).toMatchObject({ name: "canary", status: "passed" });
  expect(resumed.stages[plan.current]!.figures.canary_rows).toBeGreaterThanOrEqual(50);
  expect(await state()).toMatchObject({ primary: "1", canary: { version: plan.candidateVersion, percent: 50 } });
  const aborted = await tool(agentAgain, "abort_rollout", { plan_id: plan.id, by: "alice", reason: "test over" });
  expect(aborted.status).toBe("aborted");
  expect(await state()).toMatchObject({ primary: "1", canary: null });
}, 240_000);
