import { MemorySaver } from "@langchain/langgraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentConfig } from "../agent/configuration.ts";
import { buildGraph } from "../agent/graph.ts";
import { deterministicReasoner } from "../agent/reasoners/deterministic.ts";
import { recordThrough } from "../agent/incident-record.ts";
import { AgentRunner } from "../agent/runner.ts";
import { connectMcp, type McpTools } from "../agent/tools.ts";
import type { InferenceService } from "../inference/service.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import type { ModelVersion } from "../models/registry.ts";
import { deploymentHistory } from "../store/deployments.ts";
import { eventually } from "./helpers/eventually.ts";
import { postOk } from "./helpers/http.ts";
import { labelledTraffic, type LabelledTraffic } from "./helpers/labelled-traffic.ts";
import { startMcpStack, TOKENS } from "./helpers/mcp-stack.ts";
import { labelNoised, registerTrained } from "./helpers/models.ts";
import { LOOPBACK, tempStore, type TempStore } from "./helpers/temp-store.ts";

// The whole loop for real: the inference service serves v1, then a worse v2 is promoted; real
// traffic and labels flow through /predict and /feedback into the embedded store; the real MCP
// server (Streamable HTTP on the same Fastify instance, actions on, agent and approver tokens)
// answers the agent. The agent must name bad_deploy, propose the rollback and wait; the test, as
// the person, approves through the approver connection; the run resumes, applies the rollback
// through the admin API, and verifies on the traffic that follows.

const { admin: ADMIN, agent: AGENT, approver: APPROVER } = TOKENS;

let t: TempStore;
let svc: InferenceService;
let v1: ModelVersion;
let v2: ModelVersion;
let tools: McpTools;
let approver: McpTools;
let traffic: LabelledTraffic;

const admin = (route: string, body: Record<string, unknown>) => postOk(`${svc.url}/v1/admin/models/credit/${route}`, { actor: "e2e", reason: "test setup", ...body }, { authorization: `Bearer ${ADMIN}` });

beforeAll(async () => {
  t = await tempStore({
    ...LOOPBACK,
    MLWATCH_ADMIN_TOKEN: ADMIN,
    MLWATCH_STATE_POLL_MS: "100",
    MLWATCH_LOG_FLUSH_MS: "50",
    // Only the agent rolls back here: the service's own guard watches errors and latency, which stay fine.
    MLWATCH_AUTO_ROLLBACK_MAX_P99_MS: "60000",
  });
  v1 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1, rows: 3000 });
  v2 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 2, data: labelNoised(generateCredit(3000, 2), 0.4, 7) });
  svc = await startMcpStack(t);
  traffic = labelledTraffic(svc, v1.schema.classes, "e2e");
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
    const unrecorded: string[] = [];
    const runner = new AgentRunner(graph, checkpointer, { record: recordThrough(tools, (x) => unrecorded.push(x)) });

    const first = await runner.start("credit");
    expect(first.status).toBe("awaiting_approval");
    expect(first.state.diagnosis).toMatchObject({ rootCause: "bad_deploy", category: "model", remedy: "rollback" });
    const request = first.awaiting!;
    expect(request.what).toBe(`rollback to v${v1.version} for credit`);
    expect(request.expectedEffect).toMatch(new RegExp(`primary v${v2.version}.*→.*primary v${v1.version}`));
    expect((await tools.getProposal(request.proposalId)).status).toBe("pending");
    expect(svc.traffic.state("credit")?.primary).toBe(v2.version);
    // The incident is in the store while the run waits, read back by another MCP client.
    const open = await approver.listIncidents({ model: "credit", open: true });
    expect(open.incidents).toEqual([expect.objectContaining({ incidentId: first.incidentId, status: "awaiting_approval", pendingProposalId: request.proposalId })]);

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
    expect(proposal).toMatchObject({ status: "applied", decided_by: "e2e-person" });
    const rollback = (await deploymentHistory(t.store, "credit", 50)).find((e) => e.action === "rollback");
    expect(rollback).toMatchObject({ proposalId: request.proposalId, version: v1.version });
    expect(rollback!.approvalId).not.toBe("");
    expect(printed.join("\n")).toMatch(/RECOVERED/);
    const stored = await approver.getIncident(first.incidentId);
    expect(stored).toMatchObject({ status: "recovered", pendingProposalId: null, diagnosis: { rootCause: "bad_deploy" }, verification: { recovered: true } });
    expect(stored.closedAt).not.toBeNull();
    expect(stored.decisions).toEqual([expect.objectContaining({ decision: "approve", by: "e2e-person", serverStatus: "approved" })]);
    expect(stored.actions).toEqual([expect.objectContaining({ ok: true, proposalId: request.proposalId })]);
    expect(stored.evidence.map((e) => e.tool)).toEqual(end.state.evidence.map((e) => e.tool));
    expect(stored.evidence.find((e) => e.tool === "get_model_health")?.data).toMatchObject({ model: "credit" });
    expect(stored.timeline).toEqual(end.state.timeline);
    expect(unrecorded).toEqual([]);
    if (process.env.MLWATCH_PRINT_TRANSCRIPT) console.log(printed.join("\n"));
  }, 180_000);
});
