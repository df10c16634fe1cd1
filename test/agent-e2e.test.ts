import { MemorySaver } from "@langchain/langgraph";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentConfig } from "../agent/configuration.ts";
import { buildGraph } from "../agent/graph.ts";
import { deterministicReasoner } from "../agent/reasoners/deterministic.ts";
import { AgentRunner } from "../agent/runner.ts";
import { connectMcp, type McpTools } from "../agent/tools.ts";
import { startInferenceService, type InferenceService } from "../inference/service.ts";
import { registerMcpHttp } from "../mcp-server/transports/http.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import { Rng } from "../models/rng.ts";
import type { ModelVersion } from "../models/registry.ts";
import type { Dataset } from "../models/schema.ts";
import { deploymentHistory } from "../store/deployments.ts";
import { eventually } from "./helpers/eventually.ts";
import { registerTrained } from "./helpers/models.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

// The whole loop for real: the inference service serves v1, then a worse v2 is promoted; real
// traffic and labels flow through /predict and /feedback into the embedded store; the real MCP
// server (Streamable HTTP on the same Fastify instance, actions on, agent and approver tokens)
// answers the agent. The agent must name bad_deploy, propose the rollback and wait; the test, as
// the person, approves through the approver connection; the run resumes, applies the rollback
// through the admin API, and verifies on the traffic that follows.

const ADMIN = "e2e-admin-token-0123456789";
const AGENT = "e2e-agent-token-0123456789";
const APPROVER = "e2e-approver-token-0123456789";

let t: TempStore;
let svc: InferenceService;
let v1: ModelVersion;
let v2: ModelVersion;
let tools: McpTools;
let approver: McpTools;
let seq = 0;

/** Flips 40% of the "no" labels to "yes": a model that over-predicts default (≈74% vs ≈95% accuracy on real traffic). */
function labelNoised(d: Dataset, rate: number, seed: number): Dataset {
  const rng = new Rng(seed);
  return { ...d, name: `${d.name} with ${rate} of class 0 relabelled 1`, examples: d.examples.map((e) => ({ ...e, label: e.label === 0 && rng.next() < rate ? 1 : e.label })) };
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<any> {
  const res = await fetch(svc.url + path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

/** `n` real requests in batches of 50, then their ground-truth labels; flushed to the store. */
async function traffic(n: number, seed: number): Promise<void> {
  const examples = generateCredit(n, seed).examples;
  for (let i = 0; i < n; i += 50) {
    const batch = examples.slice(i, i + 50);
    const res = await post("/v1/models/credit/predict", { instances: batch.map((e) => e.row) }, { "x-request-id": `e2e-${seq++}` });
    const labels = res.predictions.map((p: { request_id: string }, j: number) => ({ request_id: p.request_id, label: v1.schema.classes[batch[j]!.label]! }));
    await post("/v1/feedback", { labels });
  }
  await svc.predictions.flush();
  await svc.labels.flush();
}

const admin = (route: string, body: Record<string, unknown>) => post(`/v1/admin/models/credit/${route}`, { actor: "e2e", reason: "test setup", ...body }, { authorization: `Bearer ${ADMIN}` });

beforeAll(async () => {
  t = await tempStore({
    MLWATCH_PORT: "0",
    MLWATCH_HOST: "127.0.0.1",
    MLWATCH_ADMIN_TOKEN: ADMIN,
    MLWATCH_STATE_POLL_MS: "100",
    MLWATCH_LOG_FLUSH_MS: "50",
    // Only the agent rolls back here: the service's own guard watches errors and latency, which stay fine.
    MLWATCH_AUTO_ROLLBACK_MAX_P99_MS: "60000",
  });
  v1 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1, rows: 3000 });
  v2 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 2, data: labelNoised(generateCredit(3000, 2), 0.4, 7) });
  svc = await startInferenceService({
    config: t.config,
    store: t.store,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }),
    extend: (app) =>
      registerMcpHttp(app, {
        deps: { store: t.store, config: t.config, adminToken: ADMIN, actionsEnabled: true },
        mcpToken: AGENT,
        approverToken: APPROVER,
        allowedOrigins: [],
      }),
  });
  await admin("deploy", { version: v1.version, role: "primary" });
  await traffic(500, 11);
  await admin("deploy", { version: v2.version, role: "primary" });
  await traffic(500, 12);
  tools = await connectMcp({ url: `${svc.url}/mcp`, token: AGENT });
  approver = await connectMcp({ url: `${svc.url}/mcp`, token: APPROVER }, "e2e-person");
}, 180_000);

afterAll(async () => {
  await tools?.close();
  await approver?.close();
  await svc?.close();
  await t?.cleanup();
});

describe("agent against the real MCP server and inference service", () => {
  it("detects the bad deployment, proposes the rollback, waits, applies it once a person approves, and verifies recovery", async () => {
    const printed: string[] = [];
    const config = agentConfig({
      thresholds: { minLabelled: 150 },
      verify: { deadlineSeconds: 90, pollSeconds: 0.5, minRows: 150, tolerance: 0.05 },
    });
    const checkpointer = new MemorySaver();
    const graph = buildGraph({ tools, reasoner: deterministicReasoner, config, checkpointer, print: (x) => printed.push(x) });
    const runner = new AgentRunner(graph, checkpointer);

    const first = await runner.start("credit");
    expect(first.status).toBe("awaiting_approval");
    expect(first.state.diagnosis).toMatchObject({ rootCause: "bad_deploy", category: "model", remedy: "rollback" });
    const request = first.awaiting!;
    expect(request.what).toBe(`rollback to v${v1.version} for credit`);
    expect(request.expectedEffect).toMatch(new RegExp(`primary v${v2.version}.*→.*primary v${v1.version}`));
    expect((await tools.getProposal(request.proposalId)).status).toBe("pending");
    expect(svc.traffic.state("credit")?.primary).toBe(v2.version);

    // The person approves on the server's approval channel, then the run resumes.
    await approver.approve({ proposal_id: request.proposalId, decision: "approve", approver: "e2e-person", reason: "v2 is clearly worse" });
    let settled = false;
    const done = runner.resume(first.incidentId, { decision: "approve", by: "e2e-person" }).finally(() => (settled = true));
    await eventually(() => expect(svc.traffic.state("credit")?.primary).toBe(v1.version), 30_000);
    // Traffic keeps flowing after the rollback, so verify has a window to judge.
    for (let round = 0; !settled && round < 60; round++) {
      await traffic(100, 100 + round);
      await new Promise((r) => setTimeout(r, 200));
    }
    const end = await done;

    expect(end.status).toBe("recovered");
    expect(end.state.verification).toMatchObject({ recovered: true, after: { accuracySource: "realized" } });
    expect(end.state.verification!.after.accuracy!).toBeGreaterThan(end.state.verification!.before.accuracy!);
    expect(svc.traffic.state("credit")?.primary).toBe(v1.version);
    const proposal = await tools.getProposal(request.proposalId);
    expect(proposal).toMatchObject({ status: "applied", decidedBy: "e2e-person" });
    const rollback = (await deploymentHistory(t.store, "credit", 50)).find((e) => e.action === "rollback");
    expect(rollback).toMatchObject({ proposalId: request.proposalId, version: v1.version });
    expect(rollback!.approvalId).not.toBe("");
    expect(printed.join("\n")).toMatch(/RECOVERED/);
    if (process.env.MLWATCH_PRINT_TRANSCRIPT) console.log(printed.join("\n"));
  }, 180_000);
});
