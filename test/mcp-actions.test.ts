import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Fastify from "fastify";
import { pino } from "pino";
import type { CallToolResult, Client } from "@modelcontextprotocol/client";
import { startInferenceService, type InferenceService } from "../inference/service.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import { listVersions, type ModelVersion } from "../models/registry.ts";
import { deploymentHistory } from "../store/deployments.ts";
import { nowMicros } from "../store/clock.ts";
import { createMcpMetrics } from "../mcp-server/metrics.ts";
import { registerMcpHttp } from "../mcp-server/transports/http.ts";
import { registerTrained } from "./helpers/models.ts";
import { labelNames, seedPredictions } from "./helpers/seed-store.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";
import { connectMcpClient } from "./helpers/mcp-stack.ts";
import { closedPort } from "./helpers/ports.ts";

/** mlwatch_mcp_tool_calls_total for one tool and outcome, from serve's /metrics. */
async function toolCalls(tool: string, outcome: string): Promise<number> {
  const text = await (await fetch(`${svc.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`mlwatch_mcp_tool_calls_total{tool="${tool}",outcome="${outcome}"}`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

const ADMIN = "test-admin-token-0123456789";
const AGENT = "test-agent-token-0123456789";
const APPROVER = "test-approver-token-0123456789";
const TTL_S = 600;

let t: TempStore;
let svc: InferenceService;
let v1: ModelVersion;
let v2: ModelVersion;
let v3: ModelVersion;
let agent: Client;
let approver: Client;
/** The MCP server's clock runs this far ahead of the store's, so expiry needs no waiting. */
let skewUs = 0;
/** What the approvals route told the hosting process (serve resumes its own waiting run with it). */
const decisions: [string, { decision: string; by: string; reason: string }][] = [];

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

function text(r: CallToolResult): string {
  return r.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
}

async function ok(client: Client, name: string, args: Record<string, unknown>): Promise<Record<string, any>> {
  const r = await call(client, name, args);
  if (r.isError) throw new Error(`${name} failed: ${text(r)}`);
  return r.structuredContent as Record<string, any>;
}

async function admin(path: string, body?: Record<string, unknown>) {
  const res = await fetch(`${svc.url}/v1/admin/models/credit/${path}`, {
    method: body ? "POST" : "GET",
    headers: { authorization: `Bearer ${ADMIN}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify({ actor: "test", reason: "test setup", ...body }) : undefined,
  });
  return { status: res.status, json: (await res.json()) as any };
}

async function approveOverHttp(id: string, body: Record<string, unknown>, token = APPROVER) {
  const res = await fetch(`${svc.url}/v1/approvals/${id}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as any };
}

beforeAll(async () => {
  t = await tempStore({ MLWATCH_PORT: "0", MLWATCH_HOST: "127.0.0.1", MLWATCH_ADMIN_TOKEN: ADMIN, MLWATCH_STATE_POLL_MS: "100" });
  v1 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1, rows: 1500 });
  v2 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 2, rows: 1500 });
  v3 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 3, rows: 1500 });
  svc = await startInferenceService({
    config: t.config,
    store: t.store,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }),
    extend: (app, registry) =>
      registerMcpHttp(app, {
        deps: {
          store: t.store,
          config: t.config,
          adminToken: ADMIN,
          actionsEnabled: true,
          metrics: createMcpMetrics(registry),
          clock: () => nowMicros() + skewUs,
          proposalTtlSeconds: TTL_S,
        },
        mcpToken: AGENT,
        approverToken: APPROVER,
        allowedOrigins: [],
        onDecision: (id, d) => void decisions.push([id, d]),
      }),
  });
  expect((await admin("deploy", { version: v1.version, role: "primary" })).status).toBe(200);
  expect((await admin("deploy", { version: v2.version, role: "primary" })).status).toBe(200);
  agent = await connectMcpClient(`${svc.url}/mcp`, AGENT);
  approver = await connectMcpClient(`${svc.url}/mcp`, APPROVER);
}, 120_000);

afterAll(async () => {
  await agent?.close();
  await approver?.close();
  await svc?.close();
  await t?.cleanup();
});

describe("who sees which tools", () => {
  it("gives the agent propose/apply but no approve tool, and the approver credential the approve tool", async () => {
    const agentTools = (await agent.listTools()).tools.map((x) => x.name);
    expect(agentTools).toEqual(expect.arrayContaining(["propose_action", "apply_action", "get_proposal", "list_proposals", "get_deployment_history"]));
    expect(agentTools).not.toContain("approve_action");
    const approverTools = (await approver.listTools()).tools.map((x) => x.name);
    expect(approverTools).toContain("approve_action");
    const apply = (await agent.listTools()).tools.find((x) => x.name === "apply_action")!;
    expect(apply.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
  });
});

describe("the approval gate", () => {
  it("proposes with the exact effect and the event it is based on, and refuses to apply before a person approves", async () => {
    const before = await admin("traffic");
    const p = await ok(agent, "propose_action", { model: "credit", action: "rollback", reason: "accuracy fell after v2 was promoted" });
    expect(p.status).toBe("pending");
    expect(p.based_on_event_id).toBe(before.json.event_id);
    expect(p.current_state.primary).toBe(v2.version);
    expect(p.resulting_state).toMatchObject({ primary: v1.version, previous: v2.version });
    expect(p.effect).toContain(`primary v${v2.version}`);

    const refused = await call(agent, "apply_action", { proposal_id: p.proposal_id });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/has not been approved by a person/);
    expect(refused.structuredContent).toBeUndefined();
    expect((await admin("traffic")).json.state.primary).toBe(v2.version);
  });

  it("does not let the agent's credential approve, neither through MCP nor through the approvals route", async () => {
    const p = await ok(agent, "propose_action", { model: "credit", action: "rollback", reason: "self-approval attempt" });
    // A tool the connection does not offer is refused as invalid params, not run.
    await expect(call(agent, "approve_action", { proposal_id: p.proposal_id, decision: "approve", reason: "I approve myself" })).rejects.toMatchObject({
      code: -32602,
      message: expect.stringMatching(/approve_action not found/),
    });
    const viaRoute = await approveOverHttp(p.proposal_id, { approver: "agent", decision: "approve" }, AGENT);
    expect(viaRoute.status).toBe(403);
    const listed = await fetch(`${svc.url}/v1/approvals?status=pending`, { headers: { authorization: `Bearer ${AGENT}` } });
    expect(listed.status).toBe(403);
    expect((await ok(agent, "get_proposal", { proposal_id: p.proposal_id })).status).toBe("pending");
  });

  it("applies an approved rollback exactly once: traffic changes and the audit log carries the proposal and approval ids", async () => {
    const p = await ok(agent, "propose_action", { model: "credit", action: "rollback", reason: "v2 misclassifies the new region" });
    const approved = await ok(approver, "approve_action", { proposal_id: p.proposal_id, decision: "approve", approver: "alice", reason: "evidence is convincing" });
    expect(approved).toMatchObject({ status: "approved", decided_by: "alice" });
    expect(approved.approval_id).toMatch(/^[0-9a-f-]{36}$/);

    const applied = await ok(agent, "apply_action", { proposal_id: p.proposal_id });
    expect(applied.state).toMatchObject({ primary: v1.version, previous: v2.version });
    expect(applied.proposal.status).toBe("applied");
    expect((await admin("traffic")).json).toMatchObject({ state: { primary: v1.version }, event_id: applied.applied_event_id });

    const events = await deploymentHistory(t.store, "credit", 50);
    const change = events.find((e) => e.eventId === applied.applied_event_id)!;
    expect(change).toMatchObject({ action: "rollback", proposalId: p.proposal_id, approvalId: approved.approval_id, version: v1.version });
    expect(events.filter((e) => e.proposalId === p.proposal_id).map((e) => e.action).sort()).toEqual(["approve", "propose", "rollback"]);

    const again = await call(agent, "apply_action", { proposal_id: p.proposal_id });
    expect(again.isError).toBe(true);
    expect(text(again)).toMatch(/already applied/);
  });

  it("never applies a rejected proposal, and a rejection is final", async () => {
    const p = await ok(agent, "propose_action", { model: "credit", action: "promote", version: v3.version, reason: "v3 looks better offline" });
    const rejected = await approveOverHttp(p.proposal_id, { approver: "bob", decision: "reject", reason: "not tested on live traffic" });
    expect(rejected.status).toBe(200);
    expect(rejected.json.proposal).toMatchObject({ status: "rejected", decided_by: "bob", approval_id: null });
    // The hosting process hears of the decision (`mlwatch approve` resumes a run `serve` waits on), once, and only of one that took.
    expect(decisions.filter(([id]) => id === p.proposal_id)).toEqual([[p.proposal_id, { decision: "reject", by: "bob", reason: "not tested on live traffic" }]]);
    const apply = await call(agent, "apply_action", { proposal_id: p.proposal_id });
    expect(apply.isError).toBe(true);
    expect(text(apply)).toMatch(/rejected by bob .*can never be applied/);
    const late = await approveOverHttp(p.proposal_id, { approver: "carol", decision: "approve" });
    expect(late.status).toBe(409);
    expect(decisions.filter(([id]) => id === p.proposal_id)).toHaveLength(1);
    expect((await admin("traffic")).json.state.primary).toBe(v1.version);
  });

  it("never applies an expired proposal, approved or not", async () => {
    const approvedFirst = await ok(agent, "propose_action", { model: "credit", action: "promote", version: v3.version, reason: "expiry test" });
    expect((await approveOverHttp(approvedFirst.proposal_id, { approver: "alice" })).status).toBe(200);
    const neverApproved = await ok(agent, "propose_action", { model: "credit", action: "promote", version: v3.version, reason: "expiry test 2" });
    skewUs = (TTL_S + 1) * 1_000_000;
    try {
      const apply = await call(agent, "apply_action", { proposal_id: approvedFirst.proposal_id });
      expect(apply.isError).toBe(true);
      expect(text(apply)).toMatch(/expired at .*can never be applied/);
      expect((await ok(agent, "get_proposal", { proposal_id: approvedFirst.proposal_id })).status).toBe("expired");
      expect((await approveOverHttp(neverApproved.proposal_id, { approver: "alice" })).status).toBe(409);
      const expired = await ok(agent, "list_proposals", { model: "credit", status: "expired" });
      expect(expired.proposals.map((x: { proposal_id: string }) => x.proposal_id)).toEqual(expect.arrayContaining([approvedFirst.proposal_id, neverApproved.proposal_id]));
    } finally {
      skewUs = 0;
    }
    expect((await admin("traffic")).json.state.primary).toBe(v1.version);
  });

  it("refuses to apply when traffic moved after the proposal (409), leaving the new state alone", async () => {
    const p = await ok(agent, "propose_action", { model: "credit", action: "promote", version: v3.version, reason: "stale-state test" });
    expect((await approveOverHttp(p.proposal_id, { approver: "alice" })).status).toBe(200);
    const moved = await admin("deploy", { version: v2.version, role: "canary", percent: 10 });
    expect(moved.status).toBe(200);
    const apply = await call(agent, "apply_action", { proposal_id: p.proposal_id });
    expect(apply.isError).toBe(true);
    expect(text(apply)).toMatch(/nothing was applied: the traffic of 'credit' changed/);
    expect((await ok(agent, "get_proposal", { proposal_id: p.proposal_id })).status).toBe("failed");
    expect((await admin("traffic")).json).toMatchObject({ state: { primary: v1.version, canary: { version: v2.version, percent: 10 } }, event_id: moved.json.event_id });
    const failures = (await deploymentHistory(t.store, "credit", 50)).filter((e) => e.proposalId === p.proposal_id && e.action === "apply_failed");
    expect(failures).toHaveLength(1);
  });

  it("lets only one of two simultaneous applies of one approved proposal through", async () => {
    const p = await ok(agent, "propose_action", { model: "credit", action: "set_traffic_split", canaryPercent: 25, reason: "ramp the canary" });
    expect(p.resulting_state.canary).toEqual({ version: v2.version, percent: 25 });
    expect((await approveOverHttp(p.proposal_id, { approver: "alice" })).status).toBe(200);
    const other = await connectMcpClient(`${svc.url}/mcp`, AGENT);
    try {
      const results = await Promise.all([call(agent, "apply_action", { proposal_id: p.proposal_id }), call(other, "apply_action", { proposal_id: p.proposal_id })]);
      expect(results.filter((r) => !r.isError)).toHaveLength(1);
      expect(text(results.find((r) => r.isError)!)).toMatch(/being applied right now|already applied/);
    } finally {
      await other.close();
    }
    expect((await admin("traffic")).json.state.canary).toEqual({ version: v2.version, percent: 25 });
    const changes = (await deploymentHistory(t.store, "credit", 50)).filter((e) => e.proposalId === p.proposal_id && e.state !== null);
    expect(changes).toHaveLength(1);
  });

  it("lets only the first of two agents' proposals made from the same state apply; the other gets the conflict", async () => {
    const base = await admin("traffic");
    const a = await ok(agent, "propose_action", { model: "credit", action: "set_traffic_split", canaryPercent: 40, reason: "agent A ramps" });
    const other = await connectMcpClient(`${svc.url}/mcp`, AGENT);
    try {
      const b = await ok(other, "propose_action", { model: "credit", action: "set_traffic_split", canaryPercent: 10, reason: "agent B holds the canary back" });
      expect(a.based_on_event_id).toBe(base.json.event_id);
      expect(b.based_on_event_id).toBe(base.json.event_id);
      for (const p of [a, b]) expect((await approveOverHttp(p.proposal_id, { approver: "alice" })).status).toBe(200);
      const [ra, rb] = await Promise.all([call(agent, "apply_action", { proposal_id: a.proposal_id }), call(other, "apply_action", { proposal_id: b.proposal_id })]);
      expect([ra, rb].filter((r) => !r.isError)).toHaveLength(1);
      const loser = ra.isError ? ra : rb;
      expect(text(loser)).toMatch(/changed after proposal/);
      const winner = (ra.isError ? rb : ra).structuredContent as { state: unknown; applied_event_id: string };
      expect((await admin("traffic")).json).toMatchObject({ state: winner.state, event_id: winner.applied_event_id });
    } finally {
      await other.close();
    }
  });

  it("changes nothing when the admin API is unreachable, keeps the approval, and applies on a later try", async () => {
    const dead = Fastify();
    await registerMcpHttp(dead, {
      deps: { store: t.store, config: t.config, adminToken: ADMIN, actionsEnabled: true, proposalTtlSeconds: TTL_S },
      inferenceUrl: `http://127.0.0.1:${await closedPort()}`,
      mcpToken: AGENT,
      approverToken: APPROVER,
      allowedOrigins: [],
    });
    const deadUrl = await dead.listen({ host: "127.0.0.1", port: 0 });
    const cut = await connectMcpClient(`${deadUrl}/mcp`, AGENT);
    try {
      const before = await admin("traffic");
      const p = await ok(cut, "propose_action", { model: "credit", action: "set_traffic_split", canaryPercent: 5, reason: "unreachable test" });
      expect((await approveOverHttp(p.proposal_id, { approver: "alice" })).status).toBe(200);
      const r = await call(cut, "apply_action", { proposal_id: p.proposal_id });
      expect(r.isError).toBe(true);
      expect(text(r)).toMatch(/nothing was applied \(the approval stands; apply again once fixed\): cannot reach the inference admin API/);
      expect((await ok(agent, "get_proposal", { proposal_id: p.proposal_id })).status).toBe("approved");
      expect((await admin("traffic")).json.event_id).toBe(before.json.event_id);
      const retried = await ok(agent, "apply_action", { proposal_id: p.proposal_id });
      expect(retried.state.canary.percent).toBe(5);
    } finally {
      await cut.close();
      await dead.close();
    }
  });

  it("applies a proposal whose reason is as long as propose_action allows", async () => {
    const p = await ok(agent, "propose_action", { model: "credit", action: "set_traffic_split", canaryPercent: 30, reason: "r".repeat(2000) });
    expect((await approveOverHttp(p.proposal_id, { approver: "alice" })).status).toBe(200);
    const applied = await ok(agent, "apply_action", { proposal_id: p.proposal_id });
    const event = (await deploymentHistory(t.store, "credit", 50)).find((e) => e.eventId === applied.applied_event_id)!;
    expect(event.reason.length).toBeLessThanOrEqual(2000);
    expect(event.reason).toMatch(new RegExp(`\\[proposal ${p.proposal_id}, approved by alice\\]$`));
  });

  it("retrain is one approved rollout plan: it collects labels, trains, shadows the candidate through the admin API, refuses a second plan, and aborts cleanly", async () => {
    const traffic = await admin("traffic");
    const primary = traffic.json.state.primary as string;
    const p = await ok(agent, "propose_action", { model: "credit", action: "retrain", reason: "income drifted; learn the new population" });
    expect(p.resulting_state).toBeNull();
    expect(p.params).toMatchObject({ base_version: primary, plan: { stages: expect.arrayContaining([expect.stringMatching(/^collect: wait for 1000 labelled rows/), expect.stringMatching(/^shadow: .*McNemar p < 0\.013/)]) } });
    expect(p.effect).toMatch(/rollout plan: collect → train → shadow → canary 10% → canary 50% → promote → verify, each stage only when its gate passes/);
    expect((await approveOverHttp(p.proposal_id, { approver: "alice" })).status).toBe(200);

    const applied = await ok(agent, "apply_action", { proposal_id: p.proposal_id });
    const plan = applied.rollout;
    expect(plan).toMatchObject({ status: "running", current: 0, approvedBy: "alice", baseVersion: primary, candidateVersion: "" });
    expect(plan.progress).toMatch(/stage 1\/7 collect \(running\)/);
    expect((await admin("traffic")).json.event_id).toBe(traffic.json.event_id);
    const waiting = await ok(agent, "advance_rollout", { plan_id: plan.id });
    expect(waiting.progress).toMatch(/0 of 1000 labels/);

    const second = await call(agent, "propose_action", { model: "credit", action: "retrain", reason: "again" });
    expect(text(second)).toMatch(new RegExp(`rollout plan ${plan.id} is still running for 'credit' \\(stage collect\\)`));

    const data = generateCredit(1200, 7);
    const base = (await listVersions(t.store, "credit")).find((v) => v.version === primary)!;
    await seedPredictions(t.store, {
      model: "credit",
      version: primary,
      schema: base.schema,
      rows: data.examples.map((e) => e.row),
      labels: labelNames(data),
      startUs: nowMicros() - 3600e6,
      stepUs: 1e6,
      requestIdPrefix: "retrain-",
    });
    const shadowing = await ok(agent, "advance_rollout", { plan_id: plan.id });
    expect(shadowing.stages.map((s: { status: string }) => s.status).slice(0, 3)).toEqual(["passed", "passed", "running"]);
    expect(shadowing.stages[1].figures).toMatchObject({ post_change_rows: 1200, recipe: expect.stringMatching(/^log_/) });
    const candidate = shadowing.candidateVersion as string;
    expect((await listVersions(t.store, "credit")).find((v) => v.version === candidate)).toMatchObject({ status: "shadow", tags: ["retrained", `from:${primary}`] });
    expect((await admin("traffic")).json.state.shadow).toEqual({ version: candidate, percent: 100 });
    const events = await deploymentHistory(t.store, "credit", 50);
    const shadowEvent = events.find((e) => e.action === "deploy" && e.version === candidate)!;
    expect(shadowEvent).toMatchObject({ actor: "rollout", proposalId: p.proposal_id, approvalId: applied.proposal.approval_id });
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(["rollout_start", "rollout_collect", "retrain", "rollout_train", "rollout_shadow"]));

    // Live requests, no labels yet: the gate waits for labelled pairs, and shows the CBPE estimate of both on the shadowed requests.
    for (const e of generateCredit(40, 8).examples) {
      const res = await fetch(`${svc.url}/v1/models/credit/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ features: e.row }) });
      expect(res.status).toBe(200);
    }
    // The shadow scores after each answer: the last of its rows may reach the log a moment later.
    const advanced = async () => {
      await svc.predictions.flush();
      return ok(agent, "advance_rollout", { plan_id: plan.id });
    };
    await expect.poll(async () => (await advanced()).stages[2].figures.estimated_requests).toBe(40);
    const estimated = await advanced();
    const figures = estimated.stages[2].figures;
    expect(figures).toMatchObject({ labelled_pairs: 0, estimated_requests: 40 });
    for (const k of ["estimated_candidate_accuracy", "estimated_primary_accuracy"]) expect(figures[k]).toBeGreaterThan(0.5);
    expect(estimated.stages[2].note).toMatch(/0 of 250 labelled pairs.*CBPE estimate on all 40 shadowed requests: candidate \d+\.\d%, primary \d+\.\d%/);

    const aborted = await ok(agent, "abort_rollout", { plan_id: plan.id, by: "alice", reason: "not now" });
    expect(aborted).toMatchObject({ status: "aborted", outcome: expect.stringMatching(/aborted by alice at shadow: not now; shadow removed/) });
    expect((await admin("traffic")).json.state.shadow).toBeNull();
    const again = await call(agent, "abort_rollout", { plan_id: plan.id, reason: "twice" });
    expect(text(again)).toMatch(/already ended \(aborted/);
    expect((await ok(agent, "advance_rollout", { plan_id: plan.id })).status).toBe("aborted");
    expect(text(await call(agent, "get_rollout", { plan_id: "nope" }))).toMatch(/unknown rollout plan 'nope'/);
  });

  it("refuses proposals that cannot apply to the current state, naming the problem, and counts each refusal", async () => {
    const refusedBefore = await toolCalls("propose_action", "refused");
    const noShadow = await call(agent, "propose_action", { model: "credit", action: "set_traffic_split", shadowPercent: 5, reason: "x" });
    expect(noShadow.isError).toBe(true);
    expect(text(noShadow)).toMatch(/no shadow version/);
    const unknownVersion = await call(agent, "propose_action", { model: "credit", action: "promote", version: "99", reason: "x" });
    expect(text(unknownVersion)).toMatch(/unknown version '99'/);
    const unknownModel = await call(agent, "propose_action", { model: "fraud", action: "rollback", reason: "x" });
    expect(text(unknownModel)).toMatch(/unknown model 'fraud' \(known: credit\)/);
    const badArgs = await call(agent, "propose_action", { model: "credit", action: "rollback", reason: "x", canaryPercent: 150 });
    expect(badArgs.isError).toBe(true);
    expect(text(badArgs)).toMatch(/canaryPercent/);
    // The SDK refuses bad arguments before the tool runs; the three the tool turned down are counted.
    expect((await toolCalls("propose_action", "refused")) - refusedBefore).toBe(3);
    expect(await toolCalls("propose_action", "error")).toBe(0);
  });

  it("shows proposals and approvals in the deployment history tool", async () => {
    const h = await ok(agent, "get_deployment_history", { model: "credit", limit: 5 });
    expect(h.events).toHaveLength(5);
    expect(h.truncated).toBe(true);
    const next = await ok(agent, "get_deployment_history", { model: "credit", limit: 500, cursor: h.next_cursor });
    const all = [...h.events, ...next.events];
    expect(new Set(all.map((e: { event_id: string }) => e.event_id)).size).toBe(all.length);
    expect(all.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(["register", "deploy", "propose", "approve", "reject", "rollback", "apply_failed", "retrain"]));
    expect(next.truncated).toBe(false);
  });
});
