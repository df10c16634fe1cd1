import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallToolResult } from "@modelcontextprotocol/client";
import type { InferenceService } from "../../inference/service.ts";
import { generateCredit } from "../../models/datasets/credit.ts";
import type { ModelVersion } from "../../models/registry.ts";
import { deploymentHistory, type TrafficState } from "../../store/deployments.ts";
import { requestJson, type JsonAnswer } from "../helpers/http.ts";
import { driveLoad } from "../helpers/load-driver.ts";
import { connectMcpClient, startMcpStack, TOKENS } from "../helpers/mcp-stack.ts";
import { registerTrained } from "../helpers/models.ts";
import { LOOPBACK, tempStore, type TempStore } from "../helpers/temp-store.ts";

// Two actors change one model's traffic at the same moment, each from the state it read: one wins,
// the other is refused 409 with a reason (expected_event_id), and no state ever mixes the two
// requests. Prediction traffic runs throughout and never fails.

const { admin: ADMIN, agent: AGENT, approver: APPROVER } = TOKENS;
let t: TempStore;
let svc: InferenceService;
let v1: ModelVersion;
let v2: ModelVersion;
let v3: ModelVersion;

/** Refusals come back as answers, not errors: the races are about them. */
function admin(route: string, body?: Record<string, unknown>): Promise<JsonAnswer> {
  return requestJson(`${svc.url}/v1/admin/models/credit/${route}`, {
    body: body ? { actor: "fault-test", reason: "race", ...body } : undefined,
    headers: { authorization: `Bearer ${ADMIN}` },
  });
}

beforeAll(async () => {
  t = await tempStore({ ...LOOPBACK, MLWATCH_ADMIN_TOKEN: ADMIN, MLWATCH_LOG_FLUSH_MS: "200", MLWATCH_AUTO_ROLLBACK_MAX_P99_MS: "60000" });
  [v1, v2, v3] = [
    await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1, rows: 1500 }),
    await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 2, rows: 1500 }),
    await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 3, rows: 1500 }),
  ];
  svc = await startMcpStack(t);
  expect((await admin("deploy", { version: v1.version, role: "primary" })).status).toBe(200);
}, 120_000);

afterAll(async () => {
  await svc?.close();
  await t?.cleanup();
});

describe("two actors on one model at once", () => {
  it("lets exactly one change through per race, refuses the other with a reason, and never mixes them, under load", async () => {
    let done = false;
    const rows = generateCredit(200, 9).examples.map((e) => e.row);
    const load = driveLoad({ url: svc.url, model: "credit", rows, concurrency: 4, idPrefix: "race", stop: () => done });
    // What each actor asks for, whole: a state holding A's version with B's share would be half-applied.
    const wanted = new Set<string>();
    const canaryOf = (s: TrafficState) => `${s.canary?.version}@${s.canary?.percent}`;
    try {
      for (let round = 0; round < 6; round++) {
        const base = await admin("traffic");
        const a = { version: round % 2 ? v2.version : v3.version, role: "canary", percent: 10 + round };
        const b = { version: round % 2 ? v3.version : v2.version, role: "canary", percent: 60 + round };
        for (const x of [a, b]) wanted.add(`${x.version}@${x.percent}`);
        const [ra, rb] = await Promise.all([admin("deploy", { ...a, expected_event_id: base.json.event_id }), admin("deploy", { ...b, expected_event_id: base.json.event_id })]);
        expect([ra.status, rb.status].sort()).toEqual([200, 409]);
        const [winner, loser] = ra.status === 200 ? [ra, rb] : [rb, ra];
        expect(loser.json).toMatchObject({ error: "conflict", reason: expect.stringMatching(/changed since event .*re-read the state/) });
        expect((await admin("traffic")).json).toMatchObject({ state: winner.json.state, event_id: winner.json.event_id });
      }
      const states = (await deploymentHistory(t.store, "credit", 100)).filter((e) => e.action === "deploy" && e.state?.canary);
      expect(states).toHaveLength(6);
      for (const e of states) expect(wanted).toContain(canaryOf(e.state!));
    } finally {
      done = true;
    }
    const result = await load;
    expect(result.failed).toEqual({});
    expect(result.answered.length).toBeGreaterThan(0);
  }, 60_000);

  it("an agent's approved proposal loses cleanly to a person's direct change made from the same state", async () => {
    const agent = await connectMcpClient(`${svc.url}/mcp`, AGENT);
    try {
      const base = await admin("traffic");
      const proposed = (await agent.callTool({ name: "propose_action", arguments: { model: "credit", action: "set_traffic_split", canaryPercent: 5, reason: "agent ramps down" } })) as CallToolResult;
      expect(proposed.isError).toBeFalsy();
      const proposal = proposed.structuredContent as { proposal_id: string; based_on_event_id: string };
      expect(proposal.based_on_event_id).toBe(base.json.event_id);
      const approval = await fetch(`${svc.url}/v1/approvals/${proposal.proposal_id}`, {
        method: "POST",
        headers: { authorization: `Bearer ${APPROVER}`, "content-type": "application/json" },
        body: JSON.stringify({ approver: "alice" }),
      });
      expect(approval.status).toBe(200);
      const [person, applied] = await Promise.all([
        admin("split", { canary_percent: 95, expected_event_id: base.json.event_id }),
        agent.callTool({ name: "apply_action", arguments: { proposal_id: proposal.proposal_id } }) as Promise<CallToolResult>,
      ]);
      const outcomes = [person.status === 200, !applied.isError];
      expect(outcomes.filter(Boolean)).toHaveLength(1);
      const now = (await admin("traffic")).json;
      if (person.status === 200) {
        expect(JSON.stringify(applied.content)).toMatch(/nothing was applied: the traffic of 'credit' changed after proposal/);
        expect(now.state.canary.percent).toBe(95);
      } else {
        expect(person.json.error).toBe("conflict");
        expect(now.state.canary.percent).toBe(5);
      }
    } finally {
      await agent.close();
    }
  }, 60_000);
});
