import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Command, MemorySaver } from "@langchain/langgraph";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { Client } from "@modelcontextprotocol/client";
import { InMemoryTransport } from "@modelcontextprotocol/server";
import { McpServer } from "@modelcontextprotocol/server";
import Fastify from "fastify";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { incidentRecordSchema, type IncidentRecord } from "../incidents/record.ts";
import { defaultPlanSpec } from "../rollout/new-plan.ts";
import { describeStage } from "../rollout/plan.ts";
import { psiLevel } from "../stats/index.ts";
import { ChatSession } from "../agent/chat.ts";
import { agentConfig, type AgentConfig } from "../agent/configuration.ts";
import type { DiagnosisCore } from "../agent/diagnosis.ts";
import type { Reasoner } from "../agent/reasoners/reasoner.ts";
import { buildGraph, routeAfterApprove, routeAfterMonitor, routeAfterReason, routeAfterVerify } from "../agent/graph.ts";
import type { AgentDeps } from "../agent/nodes/common.ts";
import { investigate } from "../agent/nodes/investigate.ts";
import { monitor } from "../agent/nodes/monitor.ts";
import { checkDiagnosis, deterministicReasoner, diagnoseDeterministic } from "../agent/reasoners/deterministic.ts";
import { diagnosisJsonSchema, ollamaReasoner } from "../agent/reasoners/ollama.ts";
import { AgentRunner } from "../agent/runner.ts";
import { AgentState, type AgentStateType, type Evidence } from "../agent/state.ts";
import { McpTools } from "../agent/tools.ts";
import { registerAlertWebhook } from "../agent/webhook.ts";
import { eventually } from "./helpers/eventually.ts";
import { startOllamaStub, type ChatRequestBody, type OllamaStub } from "./helpers/ollama-stub.ts";

// These tests drive the real graph, real nodes and the real MCP client (agent/tools.ts) against an
// MCP server built with the SDK over an in-memory transport, so each scenario is exact. It answers
// with fixtures in the result shapes of mlwatch's tools (the analysis reports and proposal views of
// mcp-server/tools/*.ts) and keeps proposals, approvals and a traffic state as the real server does:
// approve_action exists only on the approver connection, apply_action succeeds only for an approved
// proposal and changes traffic, retrain without a scripted rollout plan is refused.
// test/agent-e2e.test.ts runs the bad-deployment flow against the real MCP server and inference service.

// ── tool-shaped fixtures ──────────────────────────────────────────────────────────────────────

const NOW = Date.now();
const usAgo = (seconds: number) => (NOW - seconds * 1000) * 1000;
type Traffic = { primary: string | null; previous: string | null; canary: { version: string; percent: number } | null; shadow: null };
const state = (primary: string, previous: string | null, canary: Traffic["canary"] = null): Traffic => ({ primary, previous, canary, shadow: null });
const event = (action: string, version: string, previousVersion: string, s: Traffic | null, secondsAgo: number, actor = "ci") => ({
  event_id: `ev-${action}-${version}-${secondsAgo}`,
  ts: new Date(NOW - secondsAgo * 1000).toISOString(),
  action,
  version,
  previous_version: previousVersion,
  state: s,
  actor,
  reason: `${action} v${version}`,
  proposal_id: "",
  approval_id: "",
  auto_approved: false,
});
const window = (seconds = 3600) => ({ fromUs: usAgo(seconds), toUs: usAgo(0), from: new Date(NOW - seconds * 1000).toISOString(), to: new Date(NOW).toISOString(), seconds });

interface VersionFig {
  version: string;
  accuracy: number | null;
  labelled: number;
  total?: number;
  estimated?: number | null;
  baseline?: number;
}
/** get_model_accuracy's result: analysis' AccuracyReport plus held-out accuracy per version. */
const accuracyResult = (versions: VersionFig[]) => {
  const wilson = (acc: number | null, n: number) => {
    if (acc === null || n === 0) return null;
    const half = 1.96 * Math.sqrt((acc * (1 - acc)) / n);
    return { lower: acc - half, upper: acc + half };
  };
  const fig = (v: Pick<VersionFig, "accuracy" | "labelled" | "total" | "estimated">) => {
    const predictions = v.total ?? v.labelled;
    const est = v.estimated === undefined ? v.accuracy : v.estimated;
    return {
      predictions,
      errors: 0,
      labelled: v.labelled,
      labelCoverage: predictions ? v.labelled / predictions : 0,
      correct: Math.round((v.accuracy ?? 0) * v.labelled),
      accuracy: v.accuracy,
      interval: wilson(v.accuracy, v.labelled),
      macroF1: null,
      perClass: [],
      estimated: est === null || est === undefined ? null : { accuracy: est, lower: est - 0.02, upper: est + 0.02, rows: predictions },
    };
  };
  const labelled = versions.reduce((a, v) => a + v.labelled, 0);
  const total = versions.reduce((a, v) => a + (v.total ?? v.labelled), 0);
  const acc = labelled ? versions.reduce((a, v) => a + (v.accuracy ?? 0) * v.labelled, 0) / labelled : null;
  const est = versions.every((v) => v.estimated !== null) ? versions.reduce((a, v) => a + ((v.estimated === undefined ? v.accuracy : v.estimated) ?? 0) * (v.total ?? v.labelled), 0) / (total || 1) : null;
  return {
    model: "credit",
    version: null,
    window: window(),
    bucketSeconds: 75,
    classes: ["no", "yes"],
    confusion: [],
    ...fig({ accuracy: acc, labelled, total, estimated: est }),
    byVersion: versions.map((v) => ({ version: v.version, ...fig(v), confusion: [], baselineAccuracy: v.baseline ?? null, baselineRows: null })),
    trend: [{ startUs: usAgo(3600), start: new Date(NOW - 3600_000).toISOString(), predictions: 100, errors: 0, labelled: 80, correct: 70, accuracy: acc, estimated: est }],
    notes: [],
    baselineAccuracy: versions.length === 1 ? (versions[0]!.baseline ?? null) : null,
    baselineRows: null,
  };
};

interface FeatureFig {
  feature: string;
  type?: "numeric" | "categorical";
  psi: number;
  drifted?: boolean;
  missing?: [number, number];
  unseen?: { category: string; share: number }[];
  /** Permutation importance [accuracy drop, standard error]; without it the feature's importance is unknown (null). */
  importance?: [number, number];
}
const quietFeatures: FeatureFig[] = [
  { feature: "age", psi: 0.01 },
  { feature: "income", psi: 0.02 },
  { feature: "debt_ratio", psi: 0.015 },
  { feature: "region", type: "categorical", psi: 0.005 },
];
/** detect_data_drift's result: analysis' DriftReport, features sorted by PSI. */
const driftResult = (features: FeatureFig[], datasetDrifted = false) => {
  const drifted = features.filter((f) => f.drifted);
  const ranked = features.filter((f) => f.importance).sort((a, b) => b.importance![0] - a.importance![0]);
  const importance = (f: FeatureFig) => (f.importance ? { accuracyDrop: f.importance[0], standardError: f.importance[1], rank: ranked.indexOf(f) + 1, of: ranked.length } : null);
  return {
    model: "credit",
    version: "1",
    versionChosenBy: "most primary rows",
    window: window(),
    reference: { kind: "baseline", rows: 2000 },
    rows: 900,
    rawFeatures: true,
    selectionRule: "…",
    requestedMethod: null,
    importanceRun: null,
    features: [...features]
      .sort((a, b) => b.psi - a.psi)
      .map((f) => ({
        feature: f.feature,
        type: f.type ?? "numeric",
        psi: f.psi,
        psiLevel: psiLevel(f.psi),
        method: f.type === "categorical" ? "chi_square" : "ks",
        methodChosenBy: "default selector",
        defaultMethod: f.type === "categorical" ? "chi_square" : "ks",
        score: f.psi / 2,
        pValue: f.drifted ? 1e-6 : 0.4,
        adjustedPValue: f.drifted ? 1e-5 : 0.6,
        threshold: 0.05,
        drifted: f.drifted ?? false,
        rows: { reference: 2000, current: 900 },
        missing: { reference: f.missing?.[0] ?? 0.01, current: f.missing?.[1] ?? 0.01, pValue: f.missing ? 1e-9 : 0.8, shifted: !!f.missing },
        importance: importance(f),
        ...(f.type === "categorical"
          ? { unseen: { reference: 0, current: f.unseen?.reduce((a, u) => a + u.share, 0) ?? 0, rows: Math.round(900 * (f.unseen?.reduce((a, u) => a + u.share, 0) ?? 0)), values: (f.unseen ?? []).map((u) => ({ value: u.category, rows: Math.round(900 * u.share) })) } }
          : { meanShift: null }),
      })),
    prediction: { method: "chi_square", score: 0.01, pValue: 0.5, threshold: 0.05, drifted: false, psi: 0.01, rows: { reference: 2000, current: 900 }, reference: {}, current: {} },
    label: null,
    dataset: { correction: "benjamini-hochberg", shareThreshold: 0.5, tested: features.length, driftedCount: drifted.length, share: drifted.length / features.length, drifted: datasetDrifted, driftedFeatures: drifted.map((f) => f.feature) },
    versionsInWindow: [],
    notes: [],
    summary: "",
  };
};

/** get_model_health's result: analysis' HealthReport (served totals, per version and variant and per served version, errors by reason). */
const healthResult = (versions: { version: string; errorRate?: number; p95?: number; p99?: number; total?: number; reasons?: Record<string, number> }[]) => {
  const fig = (v: (typeof versions)[number]) => {
    const rows = v.total ?? 500;
    const errors = Math.round((v.errorRate ?? 0.001) * rows);
    return { rows, errors, errorRate: errors / rows, throughputPerSec: rows / 3600, latencyMs: { p50: 2, p95: v.p95 ?? 5, p99: v.p99 ?? 9 } };
  };
  const byVersion = versions.map((v) => ({ version: v.version, variant: "primary", ...fig(v) }));
  const rows = byVersion.reduce((a, f) => a + f.rows, 0);
  const errors = byVersion.reduce((a, f) => a + f.errors, 0);
  const reasons = new Map<string, { version: string; variant: string; rows: number }[]>();
  for (const v of versions) for (const [reason, n] of Object.entries(v.reasons ?? {})) reasons.set(reason, [...(reasons.get(reason) ?? []), { version: v.version, variant: "primary", rows: n }]);
  return {
    model: "credit",
    window: window(),
    bucketSeconds: 75,
    served: { rows, errors, errorRate: errors / rows, throughputPerSec: rows / 3600, latencyMs: { p50: 2, p95: Math.max(...byVersion.map((f) => f.latencyMs.p95)), p99: Math.max(...byVersion.map((f) => f.latencyMs.p99)) } },
    shadow: null,
    byVersion,
    servedByVersion: byVersion.map(({ variant: _, ...v }) => ({ ...v, errorsByReason: Object.entries(versions.find((x) => x.version === v.version)!.reasons ?? {}).map(([reason, rows]) => ({ reason, rows })) })),
    errorsByReason: [...reasons].map(([reason, by]) => ({ reason, rows: by.reduce((a, b) => a + b.rows, 0), example: `${reason}: boom`, byVersion: by })),
    trend: [],
    baselines: [],
    notes: [],
  };
};

type Args = Record<string, unknown> & { model?: string; version?: string; window?: { lastSeconds?: number; fromUs?: number } };

/** What the fake MCP server answers, by tool; `world` lets an answer depend on what was applied. */
interface Scenario {
  traffic: Traffic;
  events: ReturnType<typeof event>[];
  accuracy: (a: Args, w: FakeWorld) => object;
  drift: (a: Args, w: FakeWorld) => object;
  health: (a: Args, w: FakeWorld) => object;
  /** find_failing_segments' answer; none rose by default. */
  segments?: (a: Args) => object;
  /** The plan views an applied retrain starts with and advance_rollout then returns, in order; without them the server has no retraining. */
  rollout?: object[];
}

/** A rollout plan as advance_rollout shows it, stages up to `current` passed (the last one's status `status` when it ended). */
function planView(current: number, status: "running" | "completed" | "failed") {
  const names = ["collect", "train", "shadow", "canary", "canary", "promote", "verify"];
  const figures: Record<string, Record<string, number | string>> = {
    shadow: { labelled_pairs: 500, candidate_accuracy: 0.93, primary_accuracy: 0.85, gain_pts: 8, p_value: 0.0001 },
    verify: { labelled: 300, accuracy: 0.94, target: 0.9, error_rate: 0 },
  };
  const stageStatus = (i: number) => (i < current || (i === current && status === "completed") ? "passed" : i === current ? (status === "failed" ? "failed" : "running") : "pending");
  return {
    id: "plan-1",
    model: "credit",
    proposalId: "p-1",
    approvalId: "a-1",
    approvedBy: "alice",
    baseVersion: "2",
    candidateVersion: current >= 1 ? "3" : "",
    spec: defaultPlanSpec(1, 1000),
    stages: names.map((name, i) => ({
      name,
      gate: name,
      status: stageStatus(i),
      startedAtUs: 1,
      endedAtUs: 2,
      figures: figures[name] ?? {},
      note: name === "shadow" ? "candidate 93.0% vs primary 85.0% on 500 paired requests" : `${name} ok`,
      looks: 0,
    })),
    current,
    status,
    createdAtUs: 1,
    updatedAtUs: 2,
    outcome: status === "running" ? "" : `${status} at ${names[current]}`,
    progress: `stage ${current + 1}/7 ${names[current]} (${status})`,
  };
}

const afterAction = (a: Args) => a.window?.fromUs !== undefined;

/** v1 served for days; v2 was promoted 20 minutes ago and is much less accurate; inputs did not drift. */
function badDeploy(o: { recovers?: boolean } = {}): Scenario {
  return {
    traffic: state("2", "1"),
    events: [event("promote", "2", "1", state("2", "1"), 1200), event("deploy", "1", "", state("1", null), 3 * 86400)],
    accuracy: (a) =>
      afterAction(a)
        ? accuracyResult([{ version: "1", accuracy: o.recovers === false ? 0.74 : 0.915, labelled: 260, total: 280 }])
        : accuracyResult([
            { version: "1", accuracy: 0.912, labelled: 420, total: 450, baseline: 0.92 },
            { version: "2", accuracy: 0.72, labelled: 380, total: 400, baseline: 0.9 },
          ]),
    drift: () => driftResult(quietFeatures),
    health: (a) => (afterAction(a) ? healthResult([{ version: "1", total: 280 }]) : healthResult([{ version: "1" }, { version: "2" }])),
  };
}

/** Nothing wrong at all. */
function healthy(): Scenario {
  return {
    traffic: state("1", null),
    events: [event("deploy", "1", "", state("1", null), 3 * 86400)],
    accuracy: () => accuracyResult([{ version: "1", accuracy: 0.93, labelled: 600, baseline: 0.92 }]),
    drift: () => driftResult(quietFeatures),
    health: () => healthResult([{ version: "1" }]),
  };
}

/** One version for days; labels say it got worse while inputs did not move. */
function conceptDrift(): Scenario {
  return { ...healthy(), accuracy: () => accuracyResult([{ version: "1", accuracy: 0.78, labelled: 600, baseline: 0.92 }]) };
}

/** find_failing_segments' report (the server's schema) for v1: the errors rose in these segments. */
function segmentsResult(risen: { feature: string; label: string; current: number; reference: number; labelled: number }[]) {
  const rate = (errorRate: number, labelled: number) => ({ labelled, errors: Math.round(errorRate * labelled), errorRate });
  return {
    model: "credit",
    version: "1",
    window: window(),
    reference: { kind: "baseline" },
    overall: { current: rate(0.22, 600), reference: rate(0.08, 4000), rise: 0.14 },
    tested: 30,
    alpha: 0.05,
    segments: risen.map((r) => ({ ...r, kind: "range", current: rate(r.current, r.labelled), reference: rate(r.reference, 800), rise: r.current - r.reference, excessErrors: 40, pValue: 1e-8, adjustedPValue: 1e-6, significant: true })),
    features: [],
    outsideTop: null,
    notes: [],
  };
}

// ── a fake MCP server with the contract's tools ─────────────────────────────────────────────

interface StoredProposal {
  proposal_id: string;
  model: string;
  action: string;
  version?: string;
  canaryPercent?: number;
  reason: string;
  status: string;
  decided_by?: string;
}

/** The proposal view every action tool answers with (mcp-server/proposal-view.ts). */
const view = (p: StoredProposal) => ({
  proposal_id: p.proposal_id,
  model: p.model,
  action: p.action,
  params: {
    ...(p.version !== undefined ? { version: p.version } : {}),
    ...(p.canaryPercent !== undefined ? { canary_percent: p.canaryPercent } : {}),
    ...(p.action === "retrain" ? { plan: { change_at: new Date(NOW).toISOString(), stages: defaultPlanSpec(1, 1000).stages.map(describeStage), stage_deadline_seconds: 21600 } } : {}),
  },
  reason: p.reason,
  proposed_by: "mcp-agent",
  status: p.status,
  created_at: new Date(NOW).toISOString(),
  expires_at: new Date(NOW + 3600_000).toISOString(),
  based_on_event_id: "ev",
  current_state: { primary: null, previous: null, canary: null, shadow: null },
  resulting_state: null,
  effect: p.action === "retrain" ? "train a new version of 'credit' from recent labelled traffic" : `${p.action}${p.version ? ` to v${p.version}` : ""}: primary changes`,
  approval_id: null,
  decided_by: p.decided_by ?? null,
  decision_reason: null,
  decided_at: null,
  applied_by: null,
  applied_event_id: null,
  error: null,
  superseded_by: null,
});

class FakeWorld {
  calls: { tool: string; args: Args; as: "agent" | "approver" }[] = [];
  proposals = new Map<string, StoredProposal>();
  /** What record_incident was sent, checked against the same contract the real tool takes. */
  incidents = new Map<string, IncidentRecord>();
  traffic: Traffic;
  events: ReturnType<typeof event>[];
  private seq = 0;

  constructor(readonly scenario: Scenario) {
    this.traffic = structuredClone(scenario.traffic);
    this.events = structuredClone(scenario.events);
  }

  called(tool: string) {
    return this.calls.filter((c) => c.tool === tool);
  }

  private apply(p: StoredProposal): Traffic {
    const before = this.traffic;
    if (p.action === "rollback") this.traffic = state(p.version ?? before.previous!, before.primary);
    else if (p.action === "promote") this.traffic = state(p.version!, before.primary);
    else if (p.action === "set_traffic_split") this.traffic = { ...before, canary: before.canary ? { ...before.canary, percent: p.canaryPercent ?? 0 } : null };
    this.events.unshift(event(p.action, p.version ?? "", before.primary ?? "", this.traffic, 0, "mlwatch-agent"));
    p.status = "applied";
    return this.traffic;
  }

  async connect(as: "agent" | "approver"): Promise<McpTools> {
    const server = new McpServer({ name: "fake-mlwatch", version: "0" });
    const any = z.looseObject({});
    const reply = (data: object) => ({ content: [{ type: "text" as const, text: JSON.stringify(data) }], structuredContent: data as Record<string, unknown> });
    const fail = (text: string) => ({ isError: true, content: [{ type: "text" as const, text }] });
    const register = (name: string, handler: (a: Args) => object) =>
      server.registerTool(name, { inputSchema: any }, async (a) => {
        this.calls.push({ tool: name, args: a as Args, as });
        try {
          return reply(handler(a as Args));
        } catch (err) {
          return fail((err as Error).message);
        }
      });
    const s = this.scenario;
    register("list_models", () => ({ models: [{ model: "credit", versions: [], production: this.traffic.primary, latest: "2", traffic: this.traffic, lastHour: { rows: 900, errors: 1, byVersion: [] } }], lastHour: { from: "", to: "" } }));
    register("get_model_accuracy", (a) => s.accuracy(a, this));
    register("detect_data_drift", (a) => s.drift(a, this));
    register("get_model_health", (a) => s.health(a, this));
    register("find_failing_segments", (a) => s.segments?.(a) ?? segmentsResult([]));
    register("get_deployment_history", () => ({ model: "credit", events: this.events, truncated: false, next_cursor: null }));
    register("query_inference_logs", () => ({
      model: "credit",
      window: window(),
      rows: [{ requestId: "r1", ts: "", tsUs: 0, version: this.traffic.primary, variant: "primary", predicted: "no", confidence: 0.97, probabilities: { no: 0.97, yes: 0.03 }, label: "yes", correct: false, latencyMs: 2, error: null, correlationId: "", features: {}, featureHash: "" }],
      returned: 1,
      truncated: false,
      nextCursor: null,
      notes: [],
    }));
    register("compare_model_versions", (a) => ({ model: "credit", mode: "window", a: { version: a.versionA, accuracy: 0.91 }, b: { version: a.versionB, accuracy: 0.72 }, test: { name: "two-proportion z-test", statistic: 6.1, pValue: 1e-9, differencePts: -19 }, better: a.versionA, verdict: `v${String(a.versionA)} is better` }));
    register("propose_action", (a) => {
      const p: StoredProposal = { proposal_id: `prop-${++this.seq}`, model: String(a.model), action: String(a.action), reason: String(a.reason), status: "pending" };
      if (a.version !== undefined) p.version = String(a.version);
      if (a.canaryPercent !== undefined) p.canaryPercent = Number(a.canaryPercent);
      this.proposals.set(p.proposal_id, p);
      return { ...view(p), next_step: "a person must approve it" };
    });
    register("get_proposal", (a) => {
      const p = this.proposals.get(String(a.proposal_id));
      if (!p) throw new Error(`unknown proposal ${String(a.proposal_id)}`);
      return view(p);
    });
    register("list_proposals", () => ({ proposals: [...this.proposals.values()].map(view), truncated: false, next_cursor: null }));
    register("apply_action", (a) => {
      const p = this.proposals.get(String(a.proposal_id));
      if (!p) throw new Error("unknown proposal");
      if (p.status !== "approved") throw new Error(`proposal ${p.proposal_id} has not been approved by a person`);
      if (p.action === "retrain") {
        if (!this.scenario.rollout) throw new Error(`cannot retrain: 412 labelled rows since the change point, the plan needs 500; proposal ${p.proposal_id} stays approved, nothing was trained or changed`);
        p.status = "applied";
        return { proposal: view(p), applied_event_id: "e-retrain", state: this.scenario.traffic, rollout: this.scenario.rollout[0] };
      }
      const state = this.apply(p);
      return { proposal: view(p), applied_event_id: this.events[0]!.event_id, state, rollout: null };
    });
    let advanced = 0;
    register("advance_rollout", () => {
      const plans = this.scenario.rollout ?? [];
      advanced = Math.min(advanced + 1, plans.length - 1);
      return plans[advanced]!;
    });
    register("get_rollout", (a) => {
      const plan = (this.scenario.rollout ?? [])[advanced];
      if (!plan || (a.model !== undefined && a.model !== "credit") || (a.plan_id !== undefined && a.plan_id !== "plan-1")) throw new Error(`unknown rollout plan '${String(a.plan_id ?? a.model)}'`);
      return plan;
    });
    register("record_incident", (a) => {
      const r = incidentRecordSchema.parse(a.incident);
      this.incidents.set(r.incidentId, r);
      return { incidentId: r.incidentId, status: r.status, recordedAt: "" };
    });
    register("get_incident", (a) => {
      const r = this.incidents.get(String(a.incident_id));
      if (!r) throw new Error(`unknown incident '${String(a.incident_id)}'`);
      return r;
    });
    register("list_incidents", () => ({ incidents: [...this.incidents.values()].map((r) => ({ ...r, summary: r.status })), truncated: false, next_cursor: null }));
    register("abort_rollout", (a) => ({ ...(this.scenario.rollout ?? []).at(-1), status: "aborted", outcome: String(a.reason) }));
    if (as === "approver") {
      register("approve_action", (a) => {
        const p = this.proposals.get(String(a.proposal_id));
        if (!p || p.status !== "pending") throw new Error(`proposal ${String(a.proposal_id)} is not pending`);
        p.status = a.decision === "approve" ? "approved" : "rejected";
        p.decided_by = String(a.approver ?? "approver-token");
        return view(p);
      });
    }
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: `test-${as}`, version: "0" });
    await client.connect(clientSide);
    return new McpTools(client);
  }
}

// ── helpers ─────────────────────────────────────────────────────────────────────────────────

const testConfig = (over: Parameters<typeof agentConfig>[0] = {}): AgentConfig =>
  agentConfig({ verify: { deadlineSeconds: 0.4, pollSeconds: 0.05, minRows: 100, tolerance: 0.02 }, ...over });

const open: McpTools[] = [];
afterAll(async () => {
  await Promise.all(open.map((t) => t.close()));
});

async function setup(scenario: Scenario, o: { config?: AgentConfig; reasoner?: Reasoner; checkpointer?: MemorySaver | SqliteSaver; world?: FakeWorld } = {}) {
  const world = o.world ?? new FakeWorld(scenario);
  const tools = await world.connect("agent");
  const approver = await world.connect("approver");
  open.push(tools, approver);
  const config = o.config ?? testConfig();
  const printed: string[] = [];
  const checkpointer = o.checkpointer ?? new MemorySaver();
  const graph = buildGraph({
    tools,
    reasoner: o.reasoner ?? deterministicReasoner,
    config,
    checkpointer,
    ...(config.autoApprove ? { approver } : {}),
    print: (t) => printed.push(t),
  });
  const record = async (r: IncidentRecord) => void (await tools.recordIncident(r));
  return { world, tools, approver, graph, checkpointer, printed, runner: new AgentRunner(graph, checkpointer, { record }), config };
}

const nodesRun = (s: AgentStateType) => [...new Set(s.timeline.map((t) => t.node))];

/** Evidence as the real monitor and investigate nodes gather it from the fake server. */
async function evidenceFor(scenario: Scenario, config = testConfig()): Promise<Evidence[]> {
  const world = new FakeWorld(scenario);
  const tools = await world.connect("agent");
  open.push(tools);
  const deps: AgentDeps = { tools, reasoner: deterministicReasoner, config, now: () => NOW, sleep: async () => {}, print: () => {} };
  let s = { ...emptyState(), model: "credit", incidentId: "inc-test" } as AgentStateType;
  for (const node of [monitor, investigate]) {
    const u = await node(s, deps);
    s = { ...s, ...u, evidence: [...s.evidence, ...((u.evidence ?? []) as Evidence[])], timeline: [...s.timeline, ...((u.timeline ?? []) as AgentStateType["timeline"])] } as AgentStateType;
  }
  return s.evidence;
}

function emptyState(): Partial<AgentStateType> {
  return Object.fromEntries(Object.entries(AgentState.spec).map(([k, ch]) => [k, (ch as { initialValueFactory?: () => unknown }).initialValueFactory?.()]));
}

const diagnose = async (scenario: Scenario, config = testConfig()) => diagnoseDeterministic({ model: "credit", evidence: await evidenceFor(scenario, config), config, nowMs: NOW });

// ── deterministic reasoner ──────────────────────────────────────────────────────────────────

describe("deterministic reasoner: one rule per root cause", () => {
  it("bad_deploy: a recent promotion, the new version clearly less accurate, no input drift → rollback to the previous version", async () => {
    const d = await diagnose(badDeploy());
    expect(d).toMatchObject({ rootCause: "bad_deploy", category: "model", remedy: "rollback", features: [], reasoner: "deterministic" });
    expect(d.confidence).toBeGreaterThanOrEqual(0.8);
    expect(d.explanation).toMatch(/v2 became primary .* replacing v1/);
    expect(d.explanation).toMatch(/72\.0% \(n=380\) against 91\.2% \(n=420\)/);
    expect(d.explanation).toMatch(/\[E\d+\]/);
  });

  it("bad_deploy of a canary → shift_traffic, not rollback", async () => {
    const s = badDeploy();
    const canary = { ...s, traffic: state("1", null, { version: "2", percent: 20 }), events: [event("deploy", "2", "", state("1", null, { version: "2", percent: 20 }), 900), ...s.events.slice(1)] };
    const d = await diagnose(canary);
    expect(d).toMatchObject({ rootCause: "bad_deploy", remedy: "shift_traffic" });
  });

  it("error_spike with a coinciding deployment → rollback; with rejected inputs → escalate; with no deployment → escalate", async () => {
    const spike = (reasons: Record<string, number>, deployed: boolean): Scenario => ({
      ...(deployed ? badDeploy() : healthy()),
      accuracy: () => accuracyResult([{ version: deployed ? "2" : "1", accuracy: 0.91, labelled: 400 }]),
      health: () => healthResult(deployed ? [{ version: "1" }, { version: "2", errorRate: 0.2, reasons }] : [{ version: "1", errorRate: 0.2, reasons }]),
    });
    expect(await diagnose(spike({ inference_failed: 100 }, true))).toMatchObject({ rootCause: "error_spike", category: "infra", remedy: "rollback" });
    const input = await diagnose(spike({ missing_feature: 100 }, true));
    expect(input).toMatchObject({ rootCause: "error_spike", remedy: "escalate" });
    expect(input.explanation).toMatch(/rejected inputs/);
    expect(await diagnose(spike({ inference_failed: 100 }, false))).toMatchObject({ rootCause: "error_spike", remedy: "escalate" });
  });

  it("latency_regression: over 5% of requests slower than the p99 SLO after a deployment → rollback", async () => {
    const s: Scenario = { ...badDeploy(), accuracy: () => accuracyResult([{ version: "2", accuracy: 0.91, labelled: 400 }]), health: () => healthResult([{ version: "1" }, { version: "2", p95: 400, p99: 900 }]) };
    const d = await diagnose(s);
    expect(d).toMatchObject({ rootCause: "latency_regression", category: "infra", remedy: "rollback" });
    expect(d.explanation).toMatch(/p95 latency 400 ms \(p99 900 ms\): over 5% of requests slower than the 250 ms p99 SLO/);
  });

  it("a p99 over the SLO with p95 under it is one request in a hundred, not a latency regression", async () => {
    const s: Scenario = { ...healthy(), health: () => healthResult([{ version: "1", p95: 40, p99: 900 }]) };
    expect(await diagnose(s)).toMatchObject({ rootCause: "none" });
    const t = await setup(s);
    expect((await t.runner.start("credit")).status).toBe("healthy");
  });

  it("new_category: unseen categories above the share threshold → retrain, naming the feature", async () => {
    const s: Scenario = {
      ...healthy(),
      accuracy: () => accuracyResult([{ version: "1", accuracy: 0.85, labelled: 500, baseline: 0.92 }]),
      drift: () => driftResult([...quietFeatures.slice(0, 3), { feature: "region", type: "categorical", psi: 0.4, drifted: true, unseen: [{ category: "atlantis", share: 0.18 }] }], true),
    };
    const d = await diagnose(s);
    expect(d).toMatchObject({ rootCause: "new_category", category: "data", remedy: "retrain", features: ["region"] });
    expect(d.explanation).toMatch(/18\.0% of region values were never seen in training \(atlantis\)/);
  });

  it("missing_values: a missing-rate rise → escalate (fix the upstream pipeline)", async () => {
    const s: Scenario = {
      ...healthy(),
      accuracy: () => accuracyResult([{ version: "1", accuracy: 0.86, labelled: 500, baseline: 0.92 }]),
      drift: () => driftResult([{ feature: "income", psi: 0.3, drifted: true, missing: [0.01, 0.35] }, ...quietFeatures.filter((f) => f.feature !== "income")], true),
    };
    const d = await diagnose(s);
    expect(d).toMatchObject({ rootCause: "missing_values", category: "data", remedy: "escalate", features: ["income"] });
    expect(d.explanation).toMatch(/income is missing in 35\.0% of rows against 1\.0%/);
  });

  it("covariate_shift: drifted inputs ranked by PSI, with an accuracy drop → retrain", async () => {
    const s: Scenario = {
      ...healthy(),
      accuracy: () => accuracyResult([{ version: "1", accuracy: 0.84, labelled: 500, baseline: 0.92 }]),
      drift: () =>
        driftResult(
          [
            { feature: "age", psi: 0.25, drifted: true },
            { feature: "income", psi: 0.61, drifted: true },
            { feature: "debt_ratio", psi: 0.02 },
            { feature: "region", type: "categorical", psi: 0.01 },
          ],
          true,
        ),
    };
    const d = await diagnose(s);
    expect(d).toMatchObject({ rootCause: "covariate_shift", category: "data", remedy: "retrain", features: ["income", "age"] });
  });

  it("covariate_shift is also named from CBPE's estimate while labels lag", async () => {
    const s: Scenario = {
      ...healthy(),
      accuracy: () => accuracyResult([{ version: "1", accuracy: null, labelled: 0, total: 900, estimated: 0.8, baseline: 0.92 }]),
      drift: () => driftResult([{ feature: "income", psi: 0.5, drifted: true }, ...quietFeatures.slice(2)], true),
    };
    const d = await diagnose(s);
    expect(d).toMatchObject({ rootCause: "covariate_shift", features: ["income"] });
    // No labels at all: retrain has nothing to train on, so the rule's own check turns it into escalate.
    expect(d.remedy).toBe("escalate");
    expect(d.explanation).toMatch(/retrain: there are no labels/);
  });

  it("concept_drift: realized accuracy fell, inputs did not drift, nothing deployed → retrain", async () => {
    const d = await diagnose(conceptDrift());
    expect(d).toMatchObject({ rootCause: "concept_drift", category: "data", remedy: "retrain", features: [] });
    expect(d.explanation).toMatch(/78\.0% \(n=600\) < SLO 90\.0%/);
    expect(d.explanation).not.toMatch(/rose most/);
  });

  it("concept_drift says where: the segments whose error rate rose, from find_failing_segments", async () => {
    const d = await diagnose({ ...conceptDrift(), segments: () => segmentsResult([{ feature: "income", label: "income in [20000, 35000)", current: 0.41, reference: 0.09, labelled: 150 }]) });
    expect(d).toMatchObject({ rootCause: "concept_drift", remedy: "retrain", features: [] });
    expect(d.explanation).toMatch(/errors rose most in income in \[20000, 35000\) \(error rate 41\.0% on 150 rows, held out 9\.0%\) \[E\d+\]/);
  });

  it("none: nothing abnormal → no remedy; input drift without effect → still none", async () => {
    expect(await diagnose(healthy())).toMatchObject({ rootCause: "none", category: "none", remedy: "none" });
    const drifted: Scenario = { ...healthy(), drift: () => driftResult([{ feature: "age", psi: 0.3, drifted: true }, ...quietFeatures.slice(1)], true) };
    const d = await diagnose(drifted);
    expect(d).toMatchObject({ rootCause: "none", remedy: "none" });
    expect(d.explanation).toMatch(/no measured effect/);
  });

  it("a deployment that coincides with real input drift is not blamed: covariate shift wins", async () => {
    const s: Scenario = { ...badDeploy(), drift: () => driftResult([{ feature: "income", psi: 0.7, drifted: true }, ...quietFeatures.slice(2)], true) };
    expect((await diagnose(s)).rootCause).toBe("covariate_shift");
  });
});

describe("checkDiagnosis refuses what the evidence contradicts", () => {
  const d = (o: Partial<DiagnosisCore>): DiagnosisCore => ({ rootCause: "bad_deploy", category: "model", features: [], confidence: 0.9, remedy: "rollback", explanation: "x", ...o });
  const config = testConfig();

  it("rollback and bad_deploy when nothing was deployed recently", async () => {
    const ev = await evidenceFor(conceptDrift());
    const r = checkDiagnosis(d({}), ev, config, NOW);
    expect(r.ok).toBe(false);
    expect(r.reasons).toEqual(expect.arrayContaining(["rollback: nothing was deployed recently", "bad_deploy: no deployment in the recent history"]));
  });

  it("rollback when the deployment has no previous version", async () => {
    const first: Scenario = { ...healthy(), events: [event("deploy", "1", "", state("1", null), 600)] };
    const r = checkDiagnosis(d({ rootCause: "error_spike", category: "infra" }), await evidenceFor(first), config, NOW);
    expect(r.reasons).toContain("rollback: there is no previous version to return to");
  });

  it("retrain when there are no labels", async () => {
    const unlabelled: Scenario = { ...conceptDrift(), accuracy: () => accuracyResult([{ version: "1", accuracy: null, labelled: 0, total: 800, estimated: 0.8 }]) };
    const r = checkDiagnosis(d({ rootCause: "concept_drift", category: "data", remedy: "retrain" }), await evidenceFor(unlabelled), config, NOW);
    expect(r.reasons).toEqual(expect.arrayContaining(["retrain: there are no labels to train on", "concept_drift: realized accuracy is not measured (too few labels)"]));
  });

  it("a category that does not belong to the cause, features the evidence never mentions, a drift cause without drift", async () => {
    const ev = await evidenceFor(badDeploy());
    expect(checkDiagnosis(d({ category: "data" }), ev, config, NOW).reasons).toContain("category 'data' does not belong to root cause 'bad_deploy'");
    expect(checkDiagnosis(d({ features: ["zodiac_sign"] }), ev, config, NOW).reasons).toContain("features not in the evidence: zodiac_sign");
    expect(checkDiagnosis(d({ rootCause: "covariate_shift", category: "data", remedy: "retrain" }), ev, config, NOW).reasons[0]).toMatch(/covariate_shift: no significant input drift/);
  });

  it("accepts the diagnosis the evidence supports", async () => {
    expect(checkDiagnosis(d({}), await evidenceFor(badDeploy()), config, NOW)).toEqual({ ok: true, reasons: [] });
  });
});

// ── Ollama reasoner ─────────────────────────────────────────────────────────────────────────

describe("Ollama reasoner against a loopback /api/chat", () => {
  let stub: OllamaStub | undefined;
  afterEach(async () => {
    await stub?.close();
    stub = undefined;
  });
  const rollback = JSON.stringify({ rootCause: "bad_deploy", category: "model", features: [], confidence: 0.88, remedy: "rollback", explanation: "v2 is 19 points worse than v1 [E2] with no drift [E3]." });
  const reasoner = (s: OllamaStub) => ollamaReasoner({ host: s.url, model: "qwen2.5:7b" });

  it("sends the diagnosis JSON schema as format with temperature 0, and uses an answer the evidence supports", async () => {
    stub = await startOllamaStub([rollback]);
    const config = testConfig();
    const d = await reasoner(stub).diagnose({ model: "credit", evidence: await evidenceFor(badDeploy()), config, nowMs: NOW });
    expect(stub.requests).toHaveLength(1);
    const req = stub.requests[0]!;
    expect(req.format).toEqual(JSON.parse(JSON.stringify(diagnosisJsonSchema)));
    expect((req.format as { properties: Record<string, unknown> }).properties).toHaveProperty("rootCause");
    expect(req.options?.temperature).toBe(0);
    expect(req.stream).toBe(false);
    expect(req.model).toBe("qwen2.5:7b");
    expect(req.messages[1]!.content).toMatch(/\[E\d+\] get_model_accuracy/);
    expect(d).toMatchObject({ rootCause: "bad_deploy", remedy: "rollback", reasoner: "ollama", confidence: 0.88 });
    expect(d.fallbackReason).toBeUndefined();
  });

  it("receives the facts the rules read: deploy comparison and attribution, drift against the previous version, relative baselines, failing segments, notices", async () => {
    stub = await startOllamaStub([rollback]);
    await reasoner(stub).diagnose({ model: "credit", evidence: await evidenceFor(badDeploy()), config: testConfig(), nowMs: NOW });
    const facts = factsSent(stub.requests[0]!);
    expect(facts.deployComparison).toMatchObject({ previousVersion: "1", version: "2", source: "realized" });
    expect((facts.deployComparison as { drop: number }).drop).toBeCloseTo(0.192, 3);
    expect(facts).toHaveProperty("driftAgainstPreviousVersionBaseline");
    expect(facts).toHaveProperty("shiftedAgainstOwnTrainingOnly", []);
    // The fixtures' features carry no importance (a version registered before it was computed): passed on as unknown.
    expect((facts.drift as { topFeatures: object[] }).topFeatures[0]).toHaveProperty("importance", null);
    expect(facts.sloViolations).toEqual(expect.arrayContaining([expect.stringMatching(/v2/)]));
    expect(facts.serving).toEqual(expect.arrayContaining([expect.objectContaining({ version: "2", latencyAgainstOwnHistory: null, accuracyBreach: expect.stringMatching(/72\.0%/) })]));

    await stub.close();
    stub = await startOllamaStub([rollback]);
    const where = { ...conceptDrift(), segments: () => segmentsResult([{ feature: "income", label: "income in [20000, 35000)", current: 0.41, reference: 0.09, labelled: 150 }]) };
    await reasoner(stub).diagnose({ model: "credit", evidence: await evidenceFor(where), config: testConfig(), nowMs: NOW });
    expect(factsSent(stub.requests[0]!).failingSegments).toEqual([{ feature: "income", label: "income in [20000, 35000)", errorRate: 0.41, referenceErrorRate: 0.09, labelled: 150, adjustedPValue: 1e-6 }]);
    expect(stub.requests[0]!.messages[0]!.content).toMatch(/failingSegments/);
  });

  it("retries a malformed answer once and uses the second when it is valid", async () => {
    stub = await startOllamaStub(["definitely not json", rollback]);
    const d = await reasoner(stub).diagnose({ model: "credit", evidence: await evidenceFor(badDeploy()), config: testConfig(), nowMs: NOW });
    expect(stub.requests).toHaveLength(2);
    expect(stub.requests[1]!.messages.at(-1)!.content).toMatch(/not valid: not JSON/);
    expect(d.reasoner).toBe("ollama");
  });

  it("malformed twice → the deterministic rules decide and fallbackReason says so", async () => {
    stub = await startOllamaStub(["{", JSON.stringify({ rootCause: "bad_deploy", category: "infra", confidence: 2 })]);
    const d = await reasoner(stub).diagnose({ model: "credit", evidence: await evidenceFor(badDeploy()), config: testConfig(), nowMs: NOW });
    expect(stub.requests).toHaveLength(2);
    expect(d.reasoner).toBe("deterministic");
    expect(d.rootCause).toBe("bad_deploy");
    expect(d.fallbackReason).toMatch(/malformed twice/);
    expect(d.fallbackReason).toMatch(/confidence|features|category/);
  });

  it("an answer the evidence contradicts is refused: rollback with nothing deployed", async () => {
    stub = await startOllamaStub([rollback]);
    const d = await reasoner(stub).diagnose({ model: "credit", evidence: await evidenceFor(conceptDrift()), config: testConfig(), nowMs: NOW });
    expect(d).toMatchObject({ reasoner: "deterministic", rootCause: "concept_drift", remedy: "retrain" });
    expect(d.fallbackReason).toMatch(/proposed bad_deploy\/rollback, which the evidence contradicts/);
    expect(d.fallbackReason).toMatch(/nothing was deployed recently/);
  });

  it("an unreachable Ollama falls back with the reason", async () => {
    const d = await ollamaReasoner({ host: "http://127.0.0.1:1", model: "m" }).diagnose({ model: "credit", evidence: await evidenceFor(conceptDrift()), config: testConfig(), nowMs: NOW });
    expect(d.reasoner).toBe("deterministic");
    expect(d.fallbackReason).toMatch(/Ollama at http:\/\/127\.0\.0\.1:1 failed/);
  });
});

/** The facts object the user prompt carries as JSON. */
function factsSent(req: ChatRequestBody): Record<string, unknown> {
  const line = req.messages[1]!.content.split("\n").find((l) => l.startsWith("Facts derived from the evidence: "))!;
  return JSON.parse(line.slice("Facts derived from the evidence: ".length)) as Record<string, unknown>;
}

// ── routing ─────────────────────────────────────────────────────────────────────────────────

describe("routing decisions", () => {
  const thread = (id: string) => ({ configurable: { thread_id: id } });
  const start = (id: string) => ({ model: "credit", incidentId: id });

  it("healthy → the run ends after monitor, without noise, and leaves no incident behind", async () => {
    const t = await setup(healthy());
    const out = await t.runner.start("credit");
    expect(out.status).toBe("healthy");
    expect(nodesRun(out.state)).toEqual(["monitor"]);
    // Accuracy twice: over the window, and over the look back where a mild fall shows.
    expect(t.world.calls.map((c) => c.tool).sort()).toEqual(["detect_data_drift", "get_deployment_history", "get_model_accuracy", "get_model_accuracy", "get_model_health"]);
    expect(t.printed).toEqual([]);
    expect(await t.runner.incidents()).toEqual([]);
  });

  /** age moved by PSI 0.3; the model relies on every feature but age (`ageImportance`). */
  const ageDrift = (ageImportance: [number, number], accuracy = 0.93, datasetDrifted = true): Scenario => ({
    ...healthy(),
    accuracy: () => accuracyResult([{ version: "1", accuracy, labelled: 600, baseline: 0.92 }]),
    drift: () =>
      driftResult(
        [
          { feature: "age", psi: 0.3, drifted: true, importance: ageImportance },
          { feature: "income", psi: 0.02, importance: [0.12, 0.004] },
          { feature: "debt_ratio", psi: 0.015, importance: [0.05, 0.003] },
          { feature: "region", type: "categorical", psi: 0.005, importance: [0.02, 0.002] },
        ],
        datasetDrifted,
      ),
  });

  it("drift only on a feature the model barely relies on, accuracy as trained → a notice naming it with its importance, no incident", async () => {
    // Under half a point; over it but within its own standard error; and with the dataset verdict calm (one feature of four).
    const cases: [[number, number], boolean][] = [[[0.001, 0.0005], true], [[0.01, 0.012], true], [[0.001, 0.0005], false]];
    for (const [importance, datasetDrifted] of cases) {
      const t = await setup(ageDrift(importance, 0.93, datasetDrifted));
      const out = await t.runner.start("credit");
      expect(out.status).toBe("healthy");
      expect(nodesRun(out.state)).toEqual(["monitor"]);
      expect(out.state.observations?.violations).toEqual([]);
      const [notice] = out.state.observations?.notices ?? [];
      expect(notice).toMatch(/input drift only on features the model barely relies on: age \(PSI 0\.30, importance \d\.\d ± \d\.\d points, rank 4 of 4\); no accuracy impact \(realized accuracy 93\.0%\): recorded, no remediation/);
      expect(out.state.timeline.at(-1)?.event).toMatch(/^healthy, with a notice: input drift only on features/);
      expect(t.world.calls.some((c) => c.tool === "propose_action")).toBe(false);
    }
  });

  it("the same drift on a feature the model relies on, or with an accuracy impact, still opens an incident", async () => {
    const important = await setup(ageDrift([0.08, 0.004], 0.84));
    const a = await important.runner.start("credit");
    expect(a.state.diagnosis).toMatchObject({ rootCause: "covariate_shift", features: ["age"], remedy: "retrain" });
    // Unimportant by its importance, but accuracy fell: the drift is not waved through.
    const impact = await setup(ageDrift([0.001, 0.0005], 0.84));
    const b = await impact.runner.start("credit");
    expect(b.state.observations?.violations.join("; ")).toMatch(/dataset drift/);
    expect(b.state.observations?.notices).toEqual([]);
    expect(b.state.diagnosis?.rootCause).toBe("covariate_shift");
  });

  it("the routing functions themselves", () => {
    const s = (o: Partial<AgentStateType>) => ({ ...emptyState(), ...o }) as AgentStateType;
    expect(routeAfterMonitor(s({ status: "healthy" }))).toBe("__end__");
    expect(routeAfterMonitor(s({ status: "investigating" }))).toBe("investigate");
    const dx = (remedy: DiagnosisCore["remedy"]) => s({ diagnosis: { rootCause: "none", category: "none", features: [], confidence: 1, remedy, explanation: "", reasoner: "deterministic" } });
    expect(routeAfterReason(dx("escalate"))).toBe("summarize");
    expect(routeAfterReason(dx("none"))).toBe("summarize");
    expect(routeAfterReason(dx("rollback"))).toBe("propose");
    for (const status of ["rejected", "approval_missing", "awaiting_approval"] as const) expect(routeAfterApprove(s({ status }))).toBe("summarize");
    expect(routeAfterApprove(s({ status: "approved" }))).toBe("act");
    expect(routeAfterApprove(s({ status: "edit_requested" }))).toBe("propose");
    expect(routeAfterVerify(s({ verification: null }))).toBe("revert");
  });

  it("bad deploy → waits for approval with what, why, effect and undo; reject → no act, apply_action never called", async () => {
    const t = await setup(badDeploy());
    const first = await t.graph.invoke(start("inc-reject"), thread("inc-reject"));
    const request = (first as { __interrupt__?: { value: unknown }[] }).__interrupt__?.[0]?.value as { proposalId: string; what: string; why: string; expectedEffect: string; undo: string; evidence: unknown[] };
    expect(request.what).toBe("rollback to v1 for credit");
    expect(request.why).toMatch(/v2 became primary/);
    expect(request.expectedEffect).toMatch(/rollback to v1: primary changes/);
    expect(request.undo).toMatch(/promote v2/);
    expect(request.evidence.length).toBeGreaterThanOrEqual(6);
    expect(t.world.proposals.get(request.proposalId)).toMatchObject({ status: "pending", action: "rollback", version: "1" });
    expect(t.world.proposals.get(request.proposalId)!.reason).toMatch(/incident inc-reject; auto-approve off/);

    await t.approver.approve({ proposal_id: request.proposalId, decision: "reject", reason: "v2 carries a fix we need" });
    const end = await t.graph.invoke(new Command({ resume: { decision: "reject", by: "alice", reason: "v2 carries a fix we need" } }), thread("inc-reject"));
    expect(end.status).toBe("rejected");
    expect(nodesRun(end)).not.toContain("act");
    expect(nodesRun(end)).not.toContain("verify");
    expect(t.world.called("apply_action")).toEqual([]);
    expect(t.world.traffic.primary).toBe("2");
    expect(end.incident?.decision).toMatchObject({ decision: "reject", by: "alice", serverStatus: "rejected", autoApproved: false });
    expect(t.printed[0]).toMatch(/REJECTED/);
  });

  it("approve recorded on the server → act applies the rollback → verify sees recovery", async () => {
    const t = await setup(badDeploy());
    const first = await t.runner.start("credit");
    const pid = first.awaiting!.proposalId;
    await t.approver.approve({ proposal_id: pid, decision: "approve", reason: "go" });
    const end = await t.runner.resume(first.incidentId, { decision: "approve", by: "alice" });
    expect(end.status).toBe("recovered");
    expect(nodesRun(end.state)).toEqual(["monitor", "investigate", "reason", "propose", "approve", "act", "verify", "summarize"]);
    expect(t.world.called("apply_action")).toHaveLength(1);
    expect(t.world.traffic.primary).toBe("1");
    expect(end.state.verification).toMatchObject({ recovered: true, after: { accuracy: 0.915, accuracySource: "realized" } });
    expect(end.state.verification!.target).toBeCloseTo(0.912 - 0.02, 6);
    expect(end.incident?.text).toMatch(/RECOVERED/);
  });

  it("resumed as approved but not approved on the server → nothing is applied", async () => {
    const t = await setup(badDeploy());
    const first = await t.runner.start("credit");
    const end = await t.runner.resume(first.incidentId, { decision: "approve", by: "mallory" });
    expect(end.status).toBe("approval_missing");
    expect(t.world.called("apply_action")).toEqual([]);
    expect(nodesRun(end.state)).not.toContain("act");
  });

  it("verify failing → a revert is proposed (not applied) and the incident escalates", async () => {
    const t = await setup(badDeploy({ recovers: false }));
    const first = await t.runner.start("credit");
    await t.approver.approve({ proposal_id: first.awaiting!.proposalId, decision: "approve", reason: "go" });
    const end = await t.runner.resume(first.incidentId, { decision: "approve", by: "alice" });
    expect(end.status).toBe("escalated");
    expect(nodesRun(end.state)).toEqual(["monitor", "investigate", "reason", "propose", "approve", "act", "verify", "revert", "summarize"]);
    expect(end.state.verification).toMatchObject({ recovered: false });
    expect(end.state.verification!.polls).toBeGreaterThan(1);
    expect(end.state.verification!.details).toMatch(/not recovered by the 0\.4 s deadline: .*accuracy 74\.0%/);
    const revert = t.world.proposals.get(end.state.revertProposal!.proposalId!)!;
    expect(revert).toMatchObject({ action: "promote", version: "2", status: "pending" });
    expect(t.world.called("apply_action")).toHaveLength(1);
  });

  it("edit → proposes again with the person's change, which then needs its own approval", async () => {
    const t = await setup(badDeploy());
    const first = await t.runner.start("credit");
    const old = first.awaiting!.proposalId;
    await t.approver.approve({ proposal_id: old, decision: "reject", reason: "superseded by an edit" });
    const edited = await t.runner.resume(first.incidentId, { decision: "edit", by: "alice", edited: { version: "0" } });
    expect(edited.awaiting!.proposalId).not.toBe(old);
    expect(t.world.proposals.get(edited.awaiting!.proposalId)).toMatchObject({ action: "rollback", version: "0", status: "pending" });
    expect(t.world.called("apply_action")).toEqual([]);
  });

  it("edit made on the server by the person's side (the console) → the run waits on that proposal and proposes nothing itself", async () => {
    const t = await setup(badDeploy());
    const first = await t.runner.start("credit");
    const old = t.world.proposals.get(first.awaiting!.proposalId)!;
    old.status = "superseded";
    t.world.proposals.set("prop-dana", { proposal_id: "prop-dana", model: "credit", action: "rollback", version: "0", reason: "use v0 [edit by dana]", status: "pending" });
    const proposed = t.world.called("propose_action").length;
    const edited = await t.runner.resume(first.incidentId, { decision: "edit", by: "dana", reason: "v0 is safer", proposalId: "prop-dana" });
    expect(edited.status).toBe("awaiting_approval");
    expect(edited.awaiting).toMatchObject({ proposalId: "prop-dana", what: "rollback to v0 for credit" });
    expect(t.world.called("propose_action")).toHaveLength(proposed);
    expect(t.world.incidents.get(first.incidentId)).toMatchObject({ pendingProposalId: "prop-dana" });
  });

  it("retrain: the server refuses to apply it → act reports the server's reason and the run escalates", async () => {
    const t = await setup(conceptDrift());
    const first = await t.runner.start("credit");
    expect(first.awaiting?.what).toBe("retrain for credit");
    await t.approver.approve({ proposal_id: first.awaiting!.proposalId, decision: "approve", reason: "go" });
    const end = await t.runner.resume(first.incidentId, { decision: "approve", by: "alice" });
    expect(end.status).toBe("escalated");
    expect(end.state.actionResult).toMatchObject({ ok: false });
    expect(end.state.actionResult!.detail).toMatch(/^apply_action failed: .*412 labelled rows since the change point, the plan needs 500.*; escalating to a person$/);
    expect(nodesRun(end.state)).not.toContain("verify");
  });

  it("retrain: the agent follows the server's rollout plan, logs each passed stage with its figures, and reads the plan's end as the verdict", async () => {
    const outcome = async (plans: object[]) => {
      const t = await setup({ ...conceptDrift(), rollout: plans });
      const first = await t.runner.start("credit");
      await t.approver.approve({ proposal_id: first.awaiting!.proposalId, decision: "approve", reason: "go" });
      return { t, end: await t.runner.resume(first.incidentId, { decision: "approve", by: "alice" }) };
    };
    const completed = await outcome([planView(0, "running"), planView(2, "running"), planView(6, "completed")]);
    expect(completed.end.status).toBe("recovered");
    expect(nodesRun(completed.end.state)).toEqual(["monitor", "investigate", "reason", "propose", "approve", "act", "rollout", "summarize"]);
    const events = completed.end.state.timeline.map((e) => e.event).join("\n");
    expect(events).toMatch(/shadow passed: candidate 93\.0% vs primary 85\.0%.*gain_pts=8/);
    expect(completed.end.state.verification).toMatchObject({ recovered: true, target: 0.9 });
    const failed = await outcome([planView(0, "running"), planView(2, "failed")]);
    expect(failed.end.status).toBe("escalated");
    expect(failed.end.state.timeline.map((e) => e.event).join("\n")).toMatch(/rollout ended failed: failed at shadow; a person should look/);
    expect(failed.t.world.called("apply_action")).toHaveLength(1);
  });

  it("remedy escalate → summarize without proposing anything", async () => {
    const s: Scenario = {
      ...healthy(),
      accuracy: () => accuracyResult([{ version: "1", accuracy: 0.86, labelled: 500, baseline: 0.92 }]),
      drift: () => driftResult([{ feature: "income", psi: 0.3, drifted: true, missing: [0.01, 0.4] }, ...quietFeatures.slice(2)], true),
    };
    const t = await setup(s);
    const end = await t.runner.start("credit");
    expect(end.status).toBe("escalated");
    expect(end.state.diagnosis?.rootCause).toBe("missing_values");
    expect(t.world.called("propose_action")).toEqual([]);
    expect(nodesRun(end.state)).toEqual(["monitor", "investigate", "reason", "summarize"]);
  });

  it("MLWATCH_AUTO_APPROVE (simulation): no interrupt; approved through the approver connection and recorded as auto-approved", async () => {
    const t = await setup(badDeploy(), { config: testConfig({ autoApprove: true }) });
    const end = await t.runner.start("credit");
    expect(end.awaiting).toBeNull();
    expect(end.status).toBe("recovered");
    expect(t.world.called("approve_action")).toEqual([expect.objectContaining({ as: "approver", args: expect.objectContaining({ decision: "approve", reason: expect.stringMatching(/MLWATCH_AUTO_APPROVE=1/) }) })]);
    expect(end.state.decision).toMatchObject({ autoApproved: true, by: "auto-approver" });
    expect(end.incident).toMatchObject({ autoApprove: true });
    expect(end.incident?.text).toMatch(/auto-approve ON \(simulation\)/);
    expect([...t.world.proposals.values()][0]!.reason).toMatch(/auto-approve on/);
  });

  it("the agent's own connection cannot approve: it has no approve_action tool", async () => {
    const t = await setup(badDeploy());
    await expect(t.tools.approve({ proposal_id: "prop-1", decision: "approve", reason: "me" })).rejects.toThrow(/approve_action/);
  });
});

// ── checkpoints survive a restart ───────────────────────────────────────────────────────────

describe("a run waiting for approval survives a restart", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-agent-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("interrupt, new graph with a new SqliteSaver on the same file, resume with Command", async () => {
    const file = path.join(dir, "agent-checkpoints.sqlite");
    const world = new FakeWorld(badDeploy());
    const before = await setup(badDeploy(), { world, checkpointer: SqliteSaver.fromConnString(file) });
    const first = await before.runner.start("credit");
    expect(first.status).toBe("awaiting_approval");
    (before.checkpointer as SqliteSaver).db.close();

    // "restart": nothing is shared with the first process but the file and the MCP server's state.
    const after = await setup(badDeploy(), { world, checkpointer: SqliteSaver.fromConnString(file) });
    const pending = await after.runner.pending();
    expect(pending.map((p) => p.incidentId)).toEqual([first.incidentId]);
    expect(pending[0]!.awaiting!.proposalId).toBe(first.awaiting!.proposalId);
    await after.approver.approve({ proposal_id: first.awaiting!.proposalId, decision: "approve", reason: "after restart" });
    const end = await after.graph.invoke(new Command({ resume: { decision: "approve", by: "alice" } }), { configurable: { thread_id: first.incidentId } });
    expect(end.status).toBe("recovered");
    expect(world.called("propose_action")).toHaveLength(1);
    expect(world.traffic.primary).toBe("1");
    (after.checkpointer as SqliteSaver).db.close();
  });
});

// ── alert webhook ───────────────────────────────────────────────────────────────────────────

describe("POST /v1/alerts", () => {
  const alert = (labels: Record<string, string>, status = "firing") => ({ status, labels: { alertname: "ModelAccuracyLow", ...labels }, annotations: { summary: "accuracy under SLO" }, startsAt: new Date(NOW).toISOString() });
  const body = (alerts: unknown[], extra: Record<string, unknown> = {}) => ({ version: "4", status: "firing", receiver: "mlwatch", groupKey: "{}:{}", alerts, ...extra });

  it("starts one run per firing alert's model, answers 202 with the incident (thread) and run ids", async () => {
    const t = await setup(badDeploy());
    const app = Fastify();
    registerAlertWebhook(app, { runner: t.runner, token: undefined });
    const res = await app.inject({ method: "POST", url: "/v1/alerts", payload: body([alert({ model: "credit" }), alert({ model: "credit", alertname: "DriftHigh" }), alert({ model: "credit" }, "resolved")]) });
    expect(res.statusCode).toBe(202);
    const json = res.json();
    expect(json.accepted).toHaveLength(2);
    expect(json.accepted[0]).toMatchObject({ model: "credit", alertname: "ModelAccuracyLow", deduplicated: false });
    expect(json.accepted[0].thread_id).toBe(json.accepted[0].incident_id);
    expect(json.accepted[0].run_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(json.accepted[1]).toMatchObject({ incident_id: json.accepted[0].incident_id, deduplicated: true });
    expect(json.ignored).toEqual([{ alertname: "ModelAccuracyLow", model: "credit", reason: "resolved" }]);
    const pending = await eventually(async () => {
      const p = await t.runner.pending();
      expect(p).toHaveLength(1);
      return p[0]!;
    });
    expect(pending.incidentId).toBe(json.accepted[0].incident_id);
    expect(pending.state.trigger).toMatchObject({ kind: "alert", alert: { alertname: "ModelAccuracyLow" } });
    await app.close();
  });

  it("a bad payload → 400 naming the field; a token, when set, is required", async () => {
    const t = await setup(healthy());
    const app = Fastify();
    registerAlertWebhook(app, { runner: t.runner, token: "alert-token-0123456789" });
    const auth = { authorization: "Bearer alert-token-0123456789" };
    const post = (payload: unknown, headers: Record<string, string> = auth) => app.inject({ method: "POST", url: "/v1/alerts", payload: payload as object, headers });
    expect((await post(body([alert({ model: "credit" })]), {})).statusCode).toBe(401);
    const noModel = await post(body([alert({})]));
    expect(noModel.statusCode).toBe(400);
    expect(noModel.json()).toMatchObject({ field: "alerts.0.labels.model" });
    expect((await post(body([alert({ model: "credit" })], { version: "3" }))).json()).toMatchObject({ field: "version" });
    expect((await post(body([]))).json()).toMatchObject({ field: "alerts" });
    expect(t.world.calls).toEqual([]);
    await app.close();
  });
});

// ── chat ────────────────────────────────────────────────────────────────────────────────────

describe("mlwatch chat session", () => {
  it("shows the pending proposal with its evidence, approves it as the person, and prints the incident when the run ends", async () => {
    const t = await setup(badDeploy());
    const first = await t.runner.start("credit");
    const out: string[] = [];
    const chat = new ChatSession({ runner: t.runner, tools: t.tools, approver: t.approver, user: "alice", print: (x) => out.push(x) });
    const transcript: string[] = [];
    const say = async (line: string) => {
      const answer = await chat.handle(line);
      transcript.push(`mlwatch> ${line}`, answer);
      return answer;
    };
    const hello = await chat.greeting();
    transcript.unshift(hello);
    expect(hello).toMatch(new RegExp(`\\[${first.incidentId}\\] rollback to v1 for credit — proposal ${first.awaiting!.proposalId}`));
    expect(hello).toMatch(/\[E1\] get_model_health/);
    expect(await say("accuracy credit")).toMatch(/credit: realized .* by version: v1 91\.2%/);
    expect(await say("drift credit")).toMatch(/income\s+psi 0\.020/);
    expect(await say(`why ${first.incidentId}`)).toMatch(/bad_deploy \(model\), confidence 0\.90, remedy rollback, by deterministic/);
    expect(await say(`approve ${first.awaiting!.proposalId} v2 is worse`)).toMatch(/approved prop-1 on the server as alice/);
    await chat.idle();
    expect(t.world.proposals.get(first.awaiting!.proposalId)).toMatchObject({ status: "applied", decided_by: "alice" });
    expect(out.join("\n")).toMatch(/RECOVERED/);
    expect(await say(`timeline ${first.incidentId.slice(0, 12)}`)).toMatch(/act\s+applied rollback to v1/);
    if (process.env.MLWATCH_PRINT_TRANSCRIPT) console.log([...transcript, ...out].join("\n"));
  });

  it("shows a retrain's rollout plan in the approval request, and the plan's stages and an abort from chat", async () => {
    const t = await setup({ ...conceptDrift(), rollout: [planView(0, "running"), planView(3, "running")] });
    const first = await t.runner.start("credit");
    const chat = new ChatSession({ runner: t.runner, tools: t.tools, approver: t.approver, user: "alice", print: () => {} });
    expect(await chat.greeting()).toMatch(/rollout plan \(each stage starts only when the one before passed its gate[^\n]*\n\s+• post-change rows from [^\n]+\n\s+1\. collect: wait for 1000 labelled rows/);
    expect(first.awaiting?.plan?.length).toBe(8);
    const shown = await chat.handle("rollout credit");
    expect(shown).toMatch(/plan plan-1 \(credit, approved by alice\): stage 1\/7 collect \(running\)/);
    expect(shown).toMatch(/1\. running\s+collect/);
    expect(await chat.handle("abort credit not now")).toMatch(/^plan plan-1: /);
    expect(t.world.called("abort_rollout").map((c) => c.args)).toEqual([{ plan_id: "plan-1", by: "alice", reason: "not now" }]);
    expect(await chat.handle("rollout nothing")).toMatch(/unknown rollout plan 'nothing'/);
  });

  it("without an approver token it refuses to approve, and reject closes the incident", async () => {
    const t = await setup(badDeploy());
    const first = await t.runner.start("credit");
    const readOnly = new ChatSession({ runner: t.runner, tools: t.tools, approver: undefined, user: "bob", print: () => {} });
    expect(await readOnly.handle(`approve ${first.awaiting!.proposalId}`)).toMatch(/need MLWATCH_APPROVER_TOKEN/);
    const chat = new ChatSession({ runner: t.runner, tools: t.tools, approver: t.approver, user: "bob", print: () => {} });
    expect(await chat.handle(`reject ${first.incidentId} not now`)).toMatch(/REJECTED/);
    expect(t.world.called("apply_action")).toEqual([]);
    expect(await chat.handle("frobnicate")).toMatch(/unknown command 'frobnicate'/);
  });
});

describe("incident records", () => {
  it("the runner records the incident after each step: waiting with its proposal, then closed with the decision; a decision taken elsewhere resumes the run waiting on it", async () => {
    const t = await setup(badDeploy());
    const first = await t.runner.start("credit");
    const waiting = t.world.incidents.get(first.incidentId)!;
    expect(waiting).toMatchObject({ status: "awaiting_approval", pendingProposalId: first.awaiting!.proposalId, closedAt: null, text: "" });
    expect(waiting.proposals.map((p) => p.proposalId)).toEqual([first.awaiting!.proposalId]);
    expect(waiting.evidence.map((e) => e.id)).toEqual(first.state.evidence.map((e) => e.id));
    expect(await t.runner.resumeFor("prop-unknown", { decision: "reject", by: "carol" })).toBeNull();
    const end = await t.runner.resumeFor(first.awaiting!.proposalId, { decision: "reject", by: "carol", reason: "in the console" });
    expect(end?.status).toBe("rejected");
    const closed = t.world.incidents.get(first.incidentId)!;
    expect(closed).toMatchObject({ status: "rejected", pendingProposalId: null, decisions: [{ decision: "reject", by: "carol", reason: "in the console" }] });
    expect(closed.closedAt).not.toBeNull();
    expect(closed.text).toMatch(/REJECTED/);
  });

  it("a healthy check records nothing", async () => {
    const t = await setup(healthy());
    await t.runner.start("credit");
    expect(t.world.incidents.size).toBe(0);
  });
});
