import { ProtocolError, type Client } from "@modelcontextprotocol/client";
import { z } from "zod";
import { incidentRecordSchema, type IncidentRecord } from "../incidents/record.ts";
import type { DriftReport, HealthReport, ModelsOverview } from "../analysis/index.ts";
import type { ProposalView } from "../mcp-server/proposal-view.ts";
import type { AccuracyResult, Applied, DeploymentHistory, ProposalList, Proposed } from "../mcp-server/results.ts";
import { planViewSchema } from "../rollout/plan-view.ts";
import { connectOver, httpTransport, mcpClient, StdioTransport } from "./mcp-client.ts";

// The one module that knows the MCP server's tool names. A result is typed as the server's own
// (mcp-server/results.ts, the analysis reports) and checked only to be of the tool's kind; a change
// of shape touches the server's type and the code that reads the field.

export type Window = { lastSeconds?: number; fromUs?: number; toUs?: number };

/** What the agent needs of an MCP client; the SDK's Client satisfies it. */
export interface ToolClient {
  callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<unknown>;
  close(): Promise<void>;
}

/** A tool call that came back as an error result, or in a shape the agent cannot read. */
export class ToolCallError extends Error {
  constructor(
    readonly tool: string,
    readonly args: Record<string, unknown>,
    message: string,
  ) {
    super(`${tool}: ${message}`);
  }
}

const num = z.number();

type Obj = Record<string, unknown>;
const isObj = (o: unknown): o is Obj => typeof o === "object" && o !== null && !Array.isArray(o);

/** What `call` checks a result against: a zod schema, or a `kind`. */
export interface ResultCheck<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
}

/**
 * A result typed as the server's own (mcp-server/results.ts, the analysis reports), checked only to
 * be an object with these fields: nothing is renamed, filled in or re-computed on this side.
 */
export function kind<T>(...fields: (keyof T & string)[]): ResultCheck<T> {
  return {
    safeParse(data) {
      if (!isObj(data)) return { success: false, error: { issues: [{ path: [], message: "not an object" }] } };
      const missing = fields.filter((f) => !(f in data));
      return missing.length ? { success: false, error: { issues: missing.map((f) => ({ path: [f], message: "missing" })) } } : { success: true, data: data as T };
    },
  };
}

// ── read-only tools ───────────────────────────────────────────────────────────────────────────

/** list_models → analysis' ModelsOverview. */
const modelListKind = kind<ModelsOverview>("models");

/** get_model_accuracy → mcp-server/results.ts' AccuracyResult. */
export const accuracyKind = kind<AccuracyResult>("predictions", "labelled", "accuracy", "byVersion", "trend");

/** detect_data_drift → analysis' DriftReport; `dataset` is null when nothing was tested. */
export const driftKind = kind<DriftReport>("version", "rows", "features", "dataset", "prediction");

/**
 * get_model_health → analysis' HealthReport: `served` and `servedByVersion` are what callers saw
 * (primary and canary rows, shadow left out); `baselines` every version's own usual figures.
 */
export const healthKind = kind<HealthReport>("served", "servedByVersion", "errorsByReason", "baselines", "trend");

/** get_deployment_history → mcp-server/results.ts' DeploymentHistory, newest first. */
export const deploymentsKind = kind<DeploymentHistory>("events", "truncated");

/** query_inference_logs → LogPage: `{ rows: [{ requestId, predicted, label, correct, confidence, features, ... }] }`. */
export const logsSchema = z.looseObject({ rows: z.array(z.looseObject({})) });
export type LogsResult = z.infer<typeof logsSchema>;

/** find_failing_segments → FailingSegmentsReport: segments whose error rate rose, significant first. */
const segmentRate = z.looseObject({ labelled: num, errors: num, errorRate: num.nullable() });
export const segmentsSchema = z.looseObject({
  version: z.string(),
  overall: z.looseObject({ current: segmentRate, reference: segmentRate }),
  segments: z.array(
    z.looseObject({ feature: z.string(), label: z.string(), kind: z.string(), current: segmentRate, reference: segmentRate, rise: num, adjustedPValue: num, significant: z.boolean() }),
  ),
});
export type SegmentsResult = z.infer<typeof segmentsSchema>;

const anyObject = z.looseObject({});

// ── actions ───────────────────────────────────────────────────────────────────────────────────

export const actions = ["rollback", "set_traffic_split", "promote", "retrain"] as const;
export type ActionName = (typeof actions)[number];

/** The proposal view every action tool returns (mcp-server/proposal-view.ts): snake_case, the target in `params`. */
const proposalKind = kind<ProposalView>("proposal_id", "action", "params", "status");
const proposedKind = kind<Proposed>("proposal_id", "action", "params", "status");
const appliedKind = kind<Applied>("proposal", "applied_event_id", "state", "rollout");
const proposalListKind = kind<ProposalList>("proposals");

/** list_incidents → `{ incidents: [...] }`, newest first; get_incident → the record in the contract's own schema. */
const incidentListSchema = z.looseObject({
  incidents: z.array(z.looseObject({ incidentId: z.string(), model: z.string(), status: z.string(), summary: z.string(), openedAt: z.string(), pendingProposalId: z.string().nullable() })),
});

export interface ProposeArgs {
  model: string;
  action: ActionName;
  version?: string;
  canaryPercent?: number;
  /** retrain only: the labelled traffic to learn from. */
  window?: { lastSeconds: number };
  reason: string;
}

// ── the client ────────────────────────────────────────────────────────────────────────────────

/** One typed method per tool. Every method returns the parsed structuredContent. */
export class McpTools {
  constructor(private readonly client: ToolClient) {}

  async call<T>(tool: string, args: Record<string, unknown>, schema: ResultCheck<T>): Promise<T> {
    const result = (await this.client.callTool({ name: tool, arguments: args }).catch((err: unknown) => {
      // A tool this connection does not offer is refused as a protocol error, not an isError result.
      throw ProtocolError.isInstance(err) ? new ToolCallError(tool, args, err.message) : err;
    })) as {
      isError?: boolean;
      structuredContent?: unknown;
      content?: { type: string; text?: string }[];
    };
    const text = (result.content ?? []).flatMap((c) => (c.type === "text" && c.text ? [c.text] : [])).join("\n");
    if (result.isError) throw new ToolCallError(tool, args, text || "the tool reported an error");
    const data = result.structuredContent ?? parseJson(text);
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      throw new ToolCallError(tool, args, `unexpected result shape: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"} ${i.message}`).join("; ")}`);
    }
    return parsed.data;
  }

  listModels() {
    return this.call("list_models", {}, modelListKind);
  }
  accuracy(args: { model: string; version?: string; window?: Window }) {
    return this.call("get_model_accuracy", args, accuracyKind);
  }
  drift(args: { model: string; version?: string; window?: Window; reference?: "baseline" | Window; referenceVersion?: string; correction?: "none" | "bonferroni" | "benjamini-hochberg" }) {
    return this.call("detect_data_drift", args, driftKind);
  }
  logs(args: { model: string; limit?: number; correct?: boolean; version?: string; window?: Window; orderBy?: "ts" | "confidence" | "latency" }) {
    return this.call("query_inference_logs", args, logsSchema);
  }
  segments(args: { model: string; version?: string; window?: Window; against?: "window" | "baseline" }) {
    return this.call("find_failing_segments", args, segmentsSchema);
  }
  compare(args: { model: string; versionA: string; versionB: string; window?: Window; mode?: string }) {
    return this.call("compare_model_versions", args, anyObject);
  }
  featureDistribution(args: { model: string; feature: string; version?: string; window?: Window }) {
    return this.call("get_feature_distribution", args, anyObject);
  }
  health(args: { model: string; window?: Window }) {
    return this.call("get_model_health", args, healthKind);
  }
  deployments(args: { model: string; limit?: number }) {
    return this.call("get_deployment_history", args, deploymentsKind);
  }
  propose(args: ProposeArgs) {
    return this.call("propose_action", { ...args }, proposedKind);
  }
  apply(proposalId: string) {
    return this.call("apply_action", { proposal_id: proposalId }, appliedKind);
  }
  advanceRollout(planId: string) {
    return this.call("advance_rollout", { plan_id: planId }, planViewSchema);
  }
  getRollout(args: { plan_id?: string; model?: string }) {
    return this.call("get_rollout", args, planViewSchema);
  }
  abortRollout(args: { plan_id: string; by?: string; reason: string }) {
    return this.call("abort_rollout", args, planViewSchema);
  }
  getProposal(proposalId: string) {
    return this.call("get_proposal", { proposal_id: proposalId }, proposalKind);
  }
  listProposals(args: { model?: string; status?: string } = {}) {
    return this.call("list_proposals", args, proposalListKind);
  }
  recordIncident(incident: IncidentRecord) {
    return this.call("record_incident", { incident }, anyObject);
  }
  listIncidents(args: { model?: string; open?: boolean; limit?: number } = {}) {
    return this.call("list_incidents", args, incidentListSchema);
  }
  getIncident(incidentId: string) {
    return this.call("get_incident", { incident_id: incidentId }, incidentRecordSchema);
  }
  /** Only exists on a connection authenticated with the approver token. */
  approve(args: { proposal_id: string; decision: "approve" | "reject"; approver?: string; reason: string }) {
    return this.call("approve_action", args, proposalKind);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}

export type McpTarget = { url: string; token?: string | undefined } | { command: string; args: string[]; env?: Record<string, string> };

/** Connects now; use `lazyMcpTools` where connecting must wait for the first call. */
export async function connectMcp(target: McpTarget, name = "mlwatch-agent"): Promise<McpTools> {
  return new McpTools(await connectClient(target, name));
}

/** Connects on the first tool call (the graph exported for LangGraph Studio is built at import). */
export function lazyMcpTools(target: McpTarget, name = "mlwatch-agent"): McpTools {
  let client: Promise<Client> | undefined;
  return new McpTools({
    callTool: async (params) => (await (client ??= connectClient(target, name))).callTool(params),
    close: async () => {
      if (client) await (await client).close();
    },
  });
}

function connectClient(target: McpTarget, name: string): Promise<Client> {
  const transport =
    "url" in target
      ? httpTransport(target.url, target.token)
      : new StdioTransport({ command: target.command, args: target.args, ...(target.env ? { env: target.env } : {}), stderr: "inherit" });
  return connectOver(mcpClient(name), transport);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
