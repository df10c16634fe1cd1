import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { agentConfig } from "../../agent/configuration.ts";
import { openAgent, type Agent } from "../../agent/runtime.ts";
import { connectMcp, ToolCallError } from "../../agent/tools.ts";
import type { InferenceService } from "../../inference/service.ts";
import { generateCredit } from "../../models/datasets/credit.ts";
import type { ModelVersion } from "../../models/registry.ts";
import { deploymentHistory } from "../../store/deployments.ts";
import { postOk } from "../helpers/http.ts";
import { labelledTraffic } from "../helpers/labelled-traffic.ts";
import { mountMcpWithActions, TOKENS } from "../helpers/mcp-stack.ts";
import { labelNoised, registerTrained } from "../helpers/models.ts";
import { startService } from "../helpers/service.ts";
import { LOOPBACK, tempStore, type TempStore } from "../helpers/temp-store.ts";

// The MCP server (the serving process's HTTP side) and the agent both go down twice: once in the
// middle of an investigation, once while a proposal waits for a person. The agent resumes from its
// SQLite checkpoint each time; the proposal survives in the store and still needs a person.

const { admin: ADMIN, agent: AGENT, approver: APPROVER } = TOKENS;
let t: TempStore;
let svc: InferenceService;
let v1: ModelVersion;
let v2: ModelVersion;
/** Set by the test: the next tool call with this name drops its connection, as a dying server would. */
let dropOnTool: string | undefined;
let dropped: () => void = () => undefined;

function dropConnectionOnTool(app: FastifyInstance): void {
  app.addHook("preHandler", async (request) => {
    const body = request.body as { method?: string; params?: { name?: string } } | undefined;
    if (dropOnTool && body?.method === "tools/call" && body.params?.name === dropOnTool) {
      dropOnTool = undefined;
      request.raw.socket.destroy();
      dropped();
    }
  });
}

function startServiceWithDropHook(): Promise<InferenceService> {
  return startService(t, async (app) => {
    dropConnectionOnTool(app);
    await mountMcpWithActions(app, t);
  });
}

const checkpointPath = () => path.join(t.dir, "agent", "checkpoints.sqlite");

function startAgent(): Promise<Agent> {
  const config = agentConfig({
    thresholds: { minLabelled: 150 },
    verify: { deadlineSeconds: 1, pollSeconds: 0.5, minRows: 150, tolerance: 0.05 },
    checkpointPath: checkpointPath(),
  });
  return openAgent(config, { mcp: { url: `${svc.url}/mcp`, token: AGENT }, print: () => undefined });
}

beforeAll(async () => {
  t = await tempStore({ ...LOOPBACK, MLWATCH_ADMIN_TOKEN: ADMIN, MLWATCH_LOG_FLUSH_MS: "50", MLWATCH_AUTO_ROLLBACK_MAX_P99_MS: "60000" });
  v1 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1, rows: 3000 });
  v2 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 2, data: labelNoised(generateCredit(3000, 2), 0.4, 7) });
  svc = await startServiceWithDropHook();
  const admin = (route: string, body: Record<string, unknown>) => postOk(`${svc.url}/v1/admin/models/credit/${route}`, { actor: "test", reason: "setup", ...body }, { authorization: `Bearer ${ADMIN}` });
  const traffic = labelledTraffic(svc, v1.schema.classes, "restart");
  await admin("deploy", { version: v1.version, role: "primary" });
  await traffic(500, 11);
  await admin("deploy", { version: v2.version, role: "primary" });
  await traffic(500, 12);
}, 180_000);

afterAll(async () => {
  await svc?.close();
  await t?.cleanup();
});

describe("MCP server and agent restarts mid-investigation", () => {
  it("resumes the run from its checkpoint, and a waiting proposal survives both restarts still needing a person", async () => {
    let agent = await startAgent();
    const serverDied = new Promise<void>((resolve) => (dropped = resolve));
    dropOnTool = "query_inference_logs"; // called by investigate only, after monitor has checkpointed
    const first = agent.runner.start("credit");
    await serverDied;
    await expect(first).rejects.toThrow();
    await agent.close();
    await svc.close();

    svc = await startServiceWithDropHook();
    agent = await startAgent();
    const [stalled] = await agent.runner.incidents();
    expect(stalled).toMatchObject({ model: "credit", next: ["investigate"], awaiting: null });
    expect(stalled!.state.evidence.some((e) => e.node === "monitor")).toBe(true);
    const resumed = await agent.runner.continueRun(stalled!.incidentId);
    expect(resumed.status).toBe("awaiting_approval");
    const proposalId = resumed.awaiting!.proposalId;
    expect(resumed.state.evidence.filter((e) => e.node === "monitor")).toHaveLength(stalled!.state.evidence.filter((e) => e.node === "monitor").length);

    await agent.close();
    await svc.close();
    svc = await startServiceWithDropHook();
    agent = await startAgent();
    try {
      const pending = await agent.runner.pending();
      expect(pending.map((p) => [p.incidentId, p.awaiting?.proposalId])).toEqual([[stalled!.incidentId, proposalId]]);
      expect((await agent.tools.getProposal(proposalId)).status).toBe("pending");
      await expect(agent.tools.apply(proposalId)).rejects.toThrow(ToolCallError);
      expect(svc.traffic.state("credit")?.primary).toBe(v2.version);

      const person = await connectMcp({ url: `${svc.url}/mcp`, token: APPROVER }, "restart-person");
      await person.approve({ proposal_id: proposalId, decision: "approve", approver: "alice", reason: "v2 is worse" });
      await person.close();
      const end = await agent.runner.resume(stalled!.incidentId, { decision: "approve", by: "alice" });
      expect(end.next).toEqual([]);
      expect(svc.traffic.state("credit")?.primary).toBe(v1.version);
      const applied = (await deploymentHistory(t.store, "credit", 50)).filter((e) => e.proposalId === proposalId && e.state !== null);
      expect(applied).toHaveLength(1);
      expect(fs.existsSync(checkpointPath())).toBe(true);
    } finally {
      await agent.close();
    }
  }, 120_000);
});
