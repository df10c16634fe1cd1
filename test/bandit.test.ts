import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InferenceService } from "../inference/service.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import type { ModelVersion } from "../models/registry.ts";
import { allocate, thompsonShares, ucbShares } from "../rollout/bandit-policy.ts";
import { banditAllocation } from "../rollout/bandit.ts";
import { applyChange, TrafficChangeError } from "../rollout/traffic-changes.ts";
import { deploymentHistory, emptyTrafficState, type TrafficState } from "../store/deployments.ts";
import { postOk, requestJson } from "./helpers/http.ts";
import { connectMcpClient, startMcpStack, TOKENS, toolCalls } from "./helpers/mcp-stack.ts";
import { labelNoised, registerTrained } from "./helpers/models.ts";
import { metricValue } from "./helpers/prom-text.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

describe("the bandit policies (pure)", () => {
  const strong = { pulls: 400, reward: 380 };
  const weak = { pulls: 400, reward: 300 };

  it("Thompson: the same counts and seed give the same shares; clearly better evidence takes nearly all", () => {
    expect(thompsonShares([strong, weak], 7)).toEqual(thompsonShares([strong, weak], 7));
    const [a, b] = thompsonShares([strong, weak], 7);
    expect(a).toBeGreaterThan(0.99);
    expect(a! + b!).toBeCloseTo(1, 10);
    // Without evidence the arms are exchangeable: about half each.
    const [x] = thompsonShares([{ pulls: 0, reward: 0 }, { pulls: 0, reward: 0 }], 3);
    expect(Math.abs(x! - 0.5)).toBeLessThan(0.05);
  });

  it("UCB1: an arm without evidence first, then the highest upper bound takes all", () => {
    expect(ucbShares([strong, { pulls: 0, reward: 0 }])).toEqual([0, 1]);
    expect(ucbShares([weak, strong])).toEqual([0, 1]);
  });

  it("keeps every arm's floor and sums to one", () => {
    const shares = allocate("ucb", [strong, weak, weak], 1, 10);
    expect(shares.map((s) => +s.toFixed(6))).toEqual([0.8, 0.1, 0.1]);
  });
});

describe("starting a bandit (pure)", () => {
  const state: TrafficState = { ...emptyTrafficState, primary: "1" };
  const refusal = (s: TrafficState, change: Parameters<typeof applyChange>[1]) => {
    try {
      applyChange(s, change, 1);
    } catch (err) {
      if (err instanceof TrafficChangeError) return { field: err.field, reason: err.message };
      throw err;
    }
    throw new Error("not refused");
  };

  it("refuses one version, twice named or alone, naming the field", () => {
    expect(refusal(state, { action: "start_bandit", versions: ["2"] })).toEqual({ field: "versions", reason: expect.stringMatching(/at least two distinct versions.*got 1/) });
    expect(refusal(state, { action: "start_bandit", versions: ["2", "2"] }).field).toBe("versions");
  });

  it("refuses floors over 100% in all, a running canary, and a canary while it runs", () => {
    expect(refusal(state, { action: "start_bandit", versions: ["1", "2", "3"], floorPercent: 40 }).field).toBe("floor_percent");
    expect(refusal({ ...state, canary: { version: "2", percent: 10 } }, { action: "start_bandit", versions: ["1", "2"] }).reason).toMatch(/canary v2 is running/);
    const running = applyChange(state, { action: "start_bandit", versions: ["1", "2"] }, 5);
    expect(running.bandit).toEqual({ arms: ["1", "2"], policy: "thompson", floorPercent: 10, latencyPenaltyPerMs: 0, seed: 1, sinceUs: 5 });
    expect(refusal(running, { action: "deploy", role: "canary", version: "2" }).field).toBe("role");
    // A promotion keeps the bandit running; stopping removes it.
    expect(applyChange(running, { action: "promote", version: "2" }).bandit?.arms).toEqual(["1", "2"]);
    expect(applyChange(running, { action: "stop_bandit" })).toEqual(state);
  });
});

describe("a bandit serving two versions (real store, onnxruntime and MCP client)", () => {
  let t: TempStore;
  let svc: InferenceService;
  let good: ModelVersion;
  let worse: ModelVersion;
  let agent: Client;
  let approver: Client;
  let seq = 0;

  const admin = (route: string, body?: Record<string, unknown>) =>
    requestJson(`${svc.url}/v1/admin/models/credit/${route}`, {
      ...(body ? { body: { actor: "test", reason: "bandit test", ...body } } : {}),
      headers: { authorization: `Bearer ${TOKENS.admin}` },
    });

  /** Labelled credit traffic in batches of 10, each batch with its own routing key. */
  async function labelledRounds(rows: number, seed: number): Promise<Map<string, number>> {
    const served = new Map<string, number>();
    const examples = generateCredit(rows, seed).examples;
    for (let i = 0; i < rows; i += 10) {
      const batch = examples.slice(i, i + 10);
      const res = await postOk(`${svc.url}/v1/models/credit/predict`, { instances: batch.map((e) => e.row), routing_key: `customer-${seq++}` });
      served.set(res.version, (served.get(res.version) ?? 0) + batch.length);
      expect(res.variant).toBe("bandit");
      await postOk(`${svc.url}/v1/feedback`, { labels: res.predictions.map((p: { request_id: string }, j: number) => ({ request_id: p.request_id, label: good.schema.classes[batch[j]!.label]! })) });
    }
    await svc.predictions.flush();
    await svc.labels.flush();
    await svc.traffic.refresh();
    return served;
  }

  beforeAll(async () => {
    t = await tempStore({ MLWATCH_PORT: "0", MLWATCH_HOST: "127.0.0.1", MLWATCH_ADMIN_TOKEN: TOKENS.admin, MLWATCH_STATE_POLL_MS: "600000" });
    good = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1, rows: 3000 });
    worse = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 2, data: labelNoised(generateCredit(3000, 2), 0.4, 7) });
    svc = await startMcpStack(t);
    expect((await admin("deploy", { version: good.version, role: "primary" })).status).toBe(200);
    const url = `${svc.url}/mcp`;
    [agent, approver] = await Promise.all([connectMcpClient(url, TOKENS.agent), connectMcpClient(url, TOKENS.approver)]);
  }, 180_000);

  afterAll(async () => {
    await agent?.close();
    await approver?.close();
    await svc?.close();
    await t?.cleanup();
  });

  it("refuses a bandit over one version through the admin API, naming the field", async () => {
    const res = await admin("bandit", { versions: [good.version, good.version] });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: "invalid_change", field: "versions", reason: expect.stringMatching(/at least two distinct versions/) });
    const tooHigh = await admin("bandit", { versions: [good.version, worse.version], floor_percent: 60 });
    expect(tooHigh.status).toBe(400);
    expect(tooHigh.json.field).toBe("body.floor_percent");
    expect((await admin("traffic")).json.state.bandit).toBeUndefined();
  });

  it("starts only as an approved proposal through MCP, audited with the proposal and approval ids", async () => {
    const a = toolCalls(() => agent);
    expect(await a.refused("propose_action", { model: "credit", action: "start_bandit", versions: [worse.version], reason: "one arm" })).toMatch(/at least two distinct versions/);
    const proposed = await a.ok("propose_action", { model: "credit", action: "start_bandit", versions: [good.version, worse.version], floorPercent: 10, reason: "let labelled traffic choose" });
    expect(proposed.data.status).toBe("pending");
    expect(proposed.data.effect).toMatch(/bandit \(thompson, floor 10%\) over v1, v2/);
    expect(await a.refused("apply_action", { proposal_id: proposed.data.proposal_id })).toMatch(/has not been approved by a person/);
    await toolCalls(() => approver).ok("approve_action", { proposal_id: proposed.data.proposal_id, decision: "approve", reason: "fine by me" });
    const applied = await a.ok("apply_action", { proposal_id: proposed.data.proposal_id });
    expect(applied.data.state.bandit).toMatchObject({ arms: [good.version, worse.version], policy: "thompson", floorPercent: 10 });
    const [event] = await deploymentHistory(t.store, "credit", 1);
    expect(event).toMatchObject({ action: "start_bandit", proposalId: proposed.data.proposal_id });
    expect(event!.approvalId).not.toBe("");
  });

  it("moves traffic to the better version as labels arrive, keeps each routing key on its arm, and agrees with a fresh computation", async () => {
    const first = await labelledRounds(400, 11);
    expect(first.get(worse.version) ?? 0).toBeGreaterThan(0);
    for (const seed of [12, 13, 14]) await labelledRounds(400, seed);
    const allocation = svc.traffic.allocation("credit")!;
    const share = (v: string) => allocation.find((a) => a.version === v)!.share;
    expect(share(good.version)).toBeGreaterThan(0.85);
    expect(share(worse.version)).toBeGreaterThanOrEqual(0.1 - 1e-9);
    // Another replica reading the same store computes the same shares.
    const bandit = (await admin("traffic")).json.state.bandit;
    expect(await banditAllocation(t.store, "credit", bandit)).toEqual(allocation);

    const row = generateCredit(1, 99).examples[0]!.row;
    const answers = await Promise.all([1, 2, 3].map(() => postOk(`${svc.url}/v1/models/credit/predict`, { features: row, routing_key: "sticky-customer" })));
    expect(new Set(answers.map((r) => r.version)).size).toBe(1);
  }, 240_000);

  it("shows the allocation in the traffic route, get_model_health and the metrics", async () => {
    const traffic = (await admin("traffic")).json;
    expect(traffic.allocation.map((a: { version: string }) => a.version)).toEqual([good.version, worse.version]);
    const health = await toolCalls(() => agent).ok("get_model_health", { model: "credit", window: { lastSeconds: 3600 } });
    expect(health.data.bandit.allocation).toEqual(traffic.allocation);
    const served = health.data.bandit.overTime.filter((b: { rows: number }) => b.rows > 0);
    expect(served.length).toBeGreaterThan(0);
    expect(health.summary).toMatch(/Bandit \(thompson, floor 10% per arm\)/);
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    const goodShare = traffic.allocation.find((a: { version: string }) => a.version === good.version).share;
    expect(metricValue(metrics, "model_bandit_share", { model: "credit", version: good.version })).toBeCloseTo(goodShare, 6);
  });

  it("stops through the admin API: the primary answers again and the shares leave the metrics", async () => {
    expect((await admin("stop_bandit", {})).status).toBe(200);
    const again = await admin("stop_bandit", {});
    expect(again.status).toBe(400);
    expect(again.json.reason).toMatch(/no bandit is running/);
    const res = await postOk(`${svc.url}/v1/models/credit/predict`, { features: generateCredit(1, 5).examples[0]!.row });
    expect(res).toMatchObject({ variant: "primary", version: good.version });
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).not.toMatch(/model_bandit_share\{/);
  });
});
