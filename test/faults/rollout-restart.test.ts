import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, expect, it } from "vitest";
import { generateCredit } from "../../models/datasets/credit.ts";
import { connectMcpClient, TOKENS } from "../helpers/mcp-stack.ts";
import { runCli, startServe, type ServeProcess } from "../helpers/serve-process.ts";

// kill -9 of `mlwatch serve` while a rollout plan shadows its candidate: the plan lives in the store,
// so the restarted process serves the same traffic state and the plan goes on from its stage.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-rollout-kill-"));
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
let server: ServeProcess | undefined;
const clients: Client[] = [];

beforeAll(async () => {
  await runCli(["train", "--name", "credit", "--rows", "2000"], env);
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await server?.stop("SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });
});

async function post(route: string, body: unknown, token?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(server!.url + route, { method: "POST", headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

/** Predictions for rows [from, to), then their labels. */
async function labelledTraffic(from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += 100) {
    const slice = data.examples.slice(i, Math.min(to, i + 100));
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
