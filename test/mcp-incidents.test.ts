import type { Client } from "@modelcontextprotocol/client";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { McpTools, ToolCallError } from "../agent/tools.ts";
import type { IncidentRecord } from "../incidents/record.ts";
import type { InferenceService } from "../inference/service.ts";
import { registerMcpHttp } from "../mcp-server/transports/http.ts";
import { createTable } from "../store/ddl.ts";
import { incidentsTable } from "../store/incidents-table.ts";
import { connectMcpClient, startMcpStack, TOKENS } from "./helpers/mcp-stack.ts";
import { registerTrained } from "./helpers/models.ts";
import { LOOPBACK, tempStore, type TempStore } from "./helpers/temp-store.ts";

// record_incident, list_incidents and get_incident through real MCP clients over Streamable HTTP,
// on the real embedded store: what the agent writes after each step is what a person reads back.

let t: TempStore;
let svc: InferenceService;
/** MCP alone, actions off, as `mlwatch mcp --http` serves Claude Desktop read-only. */
let readOnly: FastifyInstance;
let readOnlyUrl: string;
let agent: McpTools;
let person: McpTools;

beforeAll(async () => {
  t = await tempStore(LOOPBACK);
  await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1, rows: 600 });
  svc = await startMcpStack(t);
  readOnly = Fastify();
  await registerMcpHttp(readOnly, { deps: { store: t.store, config: t.config, adminToken: undefined, actionsEnabled: false }, inferenceUrl: svc.url, mcpToken: undefined, approverToken: undefined, allowedOrigins: [] });
  readOnlyUrl = `${await readOnly.listen({ host: "127.0.0.1", port: 0 })}/mcp`;
  agent = new McpTools(await connectMcpClient(`${svc.url}/mcp`, TOKENS.agent));
  person = new McpTools(await connectMcpClient(`${svc.url}/mcp`, TOKENS.approver));
}, 120_000);

afterAll(async () => {
  await agent?.close();
  await person?.close();
  await svc?.close();
  await readOnly?.close();
  await t?.cleanup();
});

const T0 = "2026-03-01T10:00:00.000Z";

function waiting(id: string): IncidentRecord {
  return {
    incidentId: id,
    model: "credit",
    status: "awaiting_approval",
    openedAt: T0,
    closedAt: null,
    pendingProposalId: "prop-1",
    trigger: { kind: "alert", alert: { alertname: "ModelAccuracyLow", status: "firing", labels: { model: "credit" }, annotations: {}, startsAt: T0 } },
    diagnosis: { rootCause: "bad_deploy", category: "model", features: [], confidence: 0.9, remedy: "rollback", explanation: "v2 is 19 points worse than v1", reasoner: "deterministic" },
    evidence: [{ id: "E1", node: "monitor", tool: "get_model_health", args: { model: "credit", window: { lastSeconds: 900 } }, summary: "900 requests, error rate 0.1%", data: { total: 900, errorRate: 0.001 } }],
    proposals: [{ proposalId: "prop-1", action: "rollback", version: "1", reason: "bad deploy", effect: "primary v2 → primary v1", expiresAt: "2026-03-01T11:00:00.000Z", undo: "promote v2" }],
    decisions: [],
    actions: [],
    plan: null,
    verification: null,
    revert: null,
    timeline: [
      { at: T0, node: "monitor", event: "SLO breach: accuracy 72% < 85%" },
      { at: "2026-03-01T10:00:02.000Z", node: "propose", event: "proposed rollback to v1 as prop-1" },
    ],
    text: "",
  };
}

function closed(id: string): IncidentRecord {
  const w = waiting(id);
  return {
    ...w,
    status: "rejected",
    pendingProposalId: null,
    closedAt: "2026-03-01T10:05:00.000Z",
    decisions: [{ decision: "reject", by: "alice", reason: "not now", at: "2026-03-01T10:04:00.000Z", autoApproved: false, serverStatus: "rejected" }],
    timeline: [...w.timeline, { at: "2026-03-01T10:05:00.000Z", node: "summarize", event: "closed: rejected" }],
    text: "incident … REJECTED",
  };
}

describe("incidents in the store, through MCP", () => {
  it("a record written by the agent is read back whole; a later write of the same incident replaces it", async () => {
    await agent.recordIncident(waiting("inc-a"));
    expect(await person.getIncident("inc-a")).toEqual(waiting("inc-a"));
    await agent.recordIncident(closed("inc-a"));
    expect(await person.getIncident("inc-a")).toEqual(closed("inc-a"));
  });

  it("lists newest first, open or closed, by model, with the summary and the proposal a person is asked about", async () => {
    await agent.recordIncident({ ...waiting("inc-b"), openedAt: "2026-03-02T10:00:00.000Z" });
    const open = await person.listIncidents({ open: true });
    expect(open.incidents.map((i) => i.incidentId)).toEqual(["inc-b"]);
    expect(open.incidents[0]).toMatchObject({ model: "credit", status: "awaiting_approval", pendingProposalId: "prop-1", summary: "bad_deploy (model), remedy rollback" });
    expect((await person.listIncidents({ open: false })).incidents.map((i) => i.incidentId)).toEqual(["inc-a"]);
    expect((await person.listIncidents({ model: "credit" })).incidents.map((i) => i.incidentId)).toEqual(["inc-b", "inc-a"]);
    expect((await person.listIncidents({ model: "other" })).incidents).toEqual([]);
  });

  it("refuses an unknown incident, an unknown model and a record off the contract, naming what is wrong", async () => {
    await expect(person.getIncident("inc-none")).rejects.toThrow(/unknown incident 'inc-none'/);
    await expect(agent.recordIncident({ ...waiting("inc-c"), model: "nope" })).rejects.toThrow(/nope/);
    const bad = { ...waiting("inc-d"), status: "sleeping" } as unknown as IncidentRecord;
    await expect(agent.recordIncident(bad)).rejects.toThrow(ToolCallError);
    await expect(agent.recordIncident(bad)).rejects.toThrow(/status/);
  });

  it("a read-only server lists and shows incidents but takes no records", async () => {
    const client: Client = await connectMcpClient(readOnlyUrl);
    try {
      const names = (await client.listTools()).tools.map((x) => x.name);
      expect(names).toEqual(expect.arrayContaining(["list_incidents", "get_incident"]));
      expect(names).not.toContain("record_incident");
    } finally {
      await client.close();
    }
  });

  it("the table is one SQL for a single node and a cluster: Replicated, Distributed by incident id", () => {
    const [local, distributed] = createTable({ database: "db", cluster: "prod", ttlDays: 30 }, incidentsTable);
    expect(local).toContain("ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/incidents_local', '{replica}', updated_at)");
    expect(local).not.toContain("TTL");
    expect(distributed).toBe("CREATE TABLE IF NOT EXISTS db.incidents ON CLUSTER prod AS db.incidents_local ENGINE = Distributed(prod, db, incidents_local, cityHash64(incident_id))");
    expect(createTable({ database: "db", ttlDays: 30 }, incidentsTable)).toEqual([expect.stringContaining("ENGINE = ReplacingMergeTree(updated_at) ORDER BY incident_id")]);
  });
});
