import { Ollama, type Message, type Tool } from "ollama";
import { z } from "zod";
import type { IncidentRecord } from "../incidents/record.ts";
import type { ApprovalRequest, DecisionInput } from "./nodes/approve.ts";
import { evidenceSummary } from "./nodes/common.ts";
import { CHAT_SYSTEM_PROMPT } from "./prompts.ts";
import { RunnerError, type AgentRunner, type RunOutcome } from "./runner.ts";
import { actions, ToolCallError, type ActionName, type McpTools, type Window } from "./tools.ts";
import { pct } from "../format.ts";

export interface ChatOptions {
  runner: AgentRunner;
  /** The agent's connection: read-only questions, and applying a stand-alone proposal once a person approved it. */
  tools: McpTools;
  /** The person's connection (MLWATCH_MCP_APPROVER_TOKEN): the only one that can approve or reject. */
  approver: McpTools | undefined;
  /** Who approves: recorded on the server and in the run's decision. */
  user: string;
  ollama?: { host: string; model: string } | undefined;
  /** Output that arrives later: a resumed run's incident summary. */
  print: (text: string) => void;
}

export const CHAT_HELP = `commands:
  pending                              proposals waiting for you, with their evidence
  approve <id> [reason]                approve (id = proposal or incident id); the run applies and verifies
  reject <id> [reason]                 reject; nothing is applied
  edit <id> [version=V] [canary=P] [action=A] [-- reason]
                                       change the proposal; the agent proposes it again for your approval
  incidents                            every incident and its status (as the store keeps them)
  why <incident>                       diagnosis and the evidence behind it (each with its tool call)
  timeline <incident>                  what happened, step by step
  rollout <model|plan>                 the rollout plan: each stage, its gate, where it is and its figures
  abort <model|plan> [reason]          stop the rollout now; the candidate leaves traffic
  continue <incident>                  finish a run whose process stopped mid-way (e.g. during verify)
  models | accuracy <model> [s] | drift <model> [s] | health <model> [s] | deployments <model>
  help | quit
anything else is a question for the local model, when OLLAMA_HOST is set`;

/** A terminal conversation's logic, without the terminal: one line in, one answer out. */
export class ChatSession {
  private readonly background = new Set<Promise<void>>();

  constructor(private readonly o: ChatOptions) {}

  async greeting(): Promise<string> {
    const pending = await this.o.runner.pending();
    const head = `mlwatch chat — approving as ${this.o.user}${this.o.approver ? "" : " (read-only: MLWATCH_APPROVER_TOKEN is not set)"}; 'help' lists commands`;
    return [head, pending.length ? pending.map((p) => renderRequest(p.awaiting!)).join("\n\n") : "no proposals are waiting for you"].join("\n\n");
  }

  async handle(line: string): Promise<string> {
    const [cmd = "", ...rest] = line.trim().split(/\s+/);
    const arg = rest[0];
    try {
      switch (cmd.toLowerCase()) {
        case "":
          return "";
        case "help":
          return CHAT_HELP;
        case "pending":
          return this.greeting();
        case "approve":
        case "reject":
          return arg ? await this.decide(cmd.toLowerCase() as "approve" | "reject", arg, rest.slice(1).join(" ")) : `usage: ${cmd} <id> [reason]`;
        case "edit":
          return arg ? await this.edit(arg, rest.slice(1)) : "usage: edit <id> [version=V] [canary=P] [action=A] [-- reason]";
        case "incidents":
          return (await this.o.tools.listIncidents({ limit: 100 })).incidents.map((i) => `${i.incidentId}  ${i.model}  ${i.status}${i.pendingProposalId ? ` (waiting: ${i.pendingProposalId})` : ""}  ${i.openedAt}  ${i.summary}`).join("\n") || "no incidents";
        case "continue":
          return arg ? render(await this.o.runner.continueRun((await this.incident(arg)).incidentId)) : "usage: continue <incident>";
        case "why":
          return arg ? why(await this.stored(arg)) : "usage: why <incident>";
        case "timeline":
          return arg ? (await this.stored(arg)).timeline.map((t) => `${t.at}  ${t.node.padEnd(11)} ${t.event}`).join("\n") : "usage: timeline <incident>";
        case "models":
          return (await this.o.tools.listModels()).models.map((m) => m.model).join("\n") || "no models";
        case "accuracy":
          return arg ? this.accuracy(arg, windowOf(rest[1])) : "usage: accuracy <model> [seconds]";
        case "drift":
          return arg ? this.drift(arg, windowOf(rest[1])) : "usage: drift <model> [seconds]";
        case "health":
          return arg ? evidenceSummary.health(await this.o.tools.health({ model: arg, window: windowOf(rest[1]) })) : "usage: health <model> [seconds]";
        case "deployments":
          return arg ? this.deployments(arg) : "usage: deployments <model>";
        case "rollout":
          return arg ? await this.rollout(arg) : "usage: rollout <model|plan-id>";
        case "abort":
          return arg ? await this.abort(arg, rest.slice(1).join(" ")) : "usage: abort <model|plan-id> [reason]";
        default:
          return this.o.ollama ? await this.ask(line) : `unknown command '${cmd}' (help lists commands; free questions need OLLAMA_HOST)`;
      }
    } catch (err) {
      if (err instanceof ToolCallError || err instanceof ChatError || err instanceof RunnerError) return err.message;
      throw err;
    }
  }

  /** Runs resumed from this session that have not ended or paused again. */
  get running(): number {
    return this.background.size;
  }

  /** Resolves once every run resumed from this session has ended or paused again. */
  async idle(): Promise<void> {
    while (this.background.size) await Promise.all([...this.background]);
  }

  private async decide(decision: "approve" | "reject", id: string, reason: string): Promise<string> {
    const approver = this.requireApprover();
    const why = reason || `${decision === "approve" ? "approved" : "rejected"} by ${this.o.user} in mlwatch chat`;
    const inc = await this.findWaiting(id);
    if (!inc) return this.decideStandalone(approver, decision, id, why);
    const proposalId = inc.awaiting!.proposalId;
    await approver.approve({ proposal_id: proposalId, decision, approver: this.o.user, reason: why });
    const input: DecisionInput = { decision, by: this.o.user, reason: why };
    if (decision === "reject") return render(await this.o.runner.resume(inc.incidentId, input));
    this.track(this.o.runner.resume(inc.incidentId, input).then((o) => this.o.print(render(o))));
    return `approved ${proposalId} on the server as ${this.o.user}; incident ${inc.incidentId} goes on (apply, then verify) and prints its summary when it ends`;
  }

  /** A proposal no run waits for, such as the revert a failed verification proposes. */
  private async decideStandalone(approver: McpTools, decision: "approve" | "reject", id: string, reason: string): Promise<string> {
    const p = await this.o.tools.getProposal(id).catch(() => null);
    if (!p || p.status !== "pending") throw new ChatError(p ? `proposal ${id} is ${p.status}` : `no pending incident or proposal '${id}'`);
    await approver.approve({ proposal_id: id, decision, approver: this.o.user, reason });
    if (decision === "reject") return `rejected ${id}`;
    const applied = await this.o.tools.apply(id);
    return `approved and applied ${id} (${p.action}${p.params.version ? ` v${p.params.version}` : ""}): ${JSON.stringify(applied)}`;
  }

  private async edit(id: string, words: string[]): Promise<string> {
    const approver = this.requireApprover();
    const inc = await this.findWaiting(id);
    if (!inc) throw new ChatError(`no incident waiting on '${id}'`);
    const cut = words.indexOf("--");
    const pairs = cut === -1 ? words : words.slice(0, cut);
    const reason = cut === -1 ? "" : words.slice(cut + 1).join(" ");
    const edited: NonNullable<DecisionInput["edited"]> = {};
    for (const pair of pairs) {
      const [k, v] = pair.split("=", 2);
      if (!v) throw new ChatError(`'${pair}' is not key=value`);
      if (k === "version") edited.version = v;
      else if (k === "canary" || k === "canaryPercent") edited.canaryPercent = Number(v);
      else if (k === "action" && (actions as readonly string[]).includes(v)) edited.action = v as ActionName;
      else throw new ChatError(`cannot edit '${pair}' (version=, canary=, action=${actions.join("|")})`);
    }
    if (Object.keys(edited).length === 0) throw new ChatError("nothing to change: give version=, canary= or action=");
    const old = inc.awaiting!.proposalId;
    await approver.approve({ proposal_id: old, decision: "reject", approver: this.o.user, reason: `superseded by an edit from ${this.o.user}: ${JSON.stringify(edited)}${reason ? ` — ${reason}` : ""}` });
    const outcome = await this.o.runner.resume(inc.incidentId, { decision: "edit", by: this.o.user, edited, ...(reason ? { reason } : {}) });
    return outcome.awaiting ? `${old} withdrawn; the edited proposal waits for you:\n\n${renderRequest(outcome.awaiting)}` : render(outcome);
  }

  private async accuracy(model: string, window: Window): Promise<string> {
    const a = await this.o.tools.accuracy({ model, window });
    const ci = a.interval ? ` [${pct(a.interval.lower)}, ${pct(a.interval.upper)}]` : "";
    return `${model}: ${evidenceSummary.accuracy(a)}${ci ? `; 95% interval${ci}` : ""}`;
  }

  private async drift(model: string, window: Window): Promise<string> {
    const d = await this.o.tools.drift({ model, window });
    const rows = [...d.features]
      .sort((a, b) => b.psi - a.psi)
      .map((f) => `  ${f.feature.padEnd(16)} psi ${f.psi.toFixed(3)}  ${f.method ?? "none"} ${f.score === null ? "" : f.score.toFixed(3)}${f.pValue !== null ? ` p=${f.pValue.toExponential(2)}` : ""}${f.drifted ? "  DRIFTED" : ""}`);
    return [`${model}: ${evidenceSummary.drift(d)}`, ...rows].join("\n");
  }

  private async rollout(id: string): Promise<string> {
    const plan = await this.plan(id);
    return [`plan ${plan.id} (${plan.model}, approved by ${plan.approvedBy}): ${plan.progress}`, ...plan.stages.map((s, i) => `  ${i + 1}. ${s.status.padEnd(8)} ${s.gate}${s.note && s.status !== "pending" ? `\n              ${s.note}` : ""}`)].join("\n");
  }

  /** Stops the plan where it is; the server takes the candidate out of traffic. */
  private async abort(id: string, reason: string): Promise<string> {
    const plan = await this.plan(id);
    const ended = await this.o.tools.abortRollout({ plan_id: plan.id, by: this.o.user, reason: reason || `aborted by ${this.o.user} in mlwatch chat` });
    return `plan ${ended.id}: ${ended.progress}`;
  }

  private async plan(id: string) {
    const byId = await this.o.tools.getRollout({ plan_id: id }).catch(() => null);
    return byId ?? (await this.o.tools.getRollout({ model: id }));
  }

  private async deployments(model: string): Promise<string> {
    const h = await this.o.tools.deployments({ model, limit: 10 });
    return h.events.map((e) => `${e.ts}  ${e.action.padEnd(8)} v${e.version || "-"}  by ${e.actor}: ${e.reason}${e.state ? `  → primary v${e.state.primary ?? "none"}` : ""}`).join("\n") || "no deployments";
  }

  /** A free question: the local model answers by calling read-only MCP tools, at most four rounds. */
  private async ask(question: string): Promise<string> {
    const client = new Ollama({ host: this.o.ollama!.host });
    const messages: Message[] = [
      { role: "system", content: CHAT_SYSTEM_PROMPT },
      { role: "user", content: question },
    ];
    for (let round = 0; round < 4; round++) {
      const res = await client.chat({ model: this.o.ollama!.model, messages, tools: chatTools, options: { temperature: 0 }, stream: false });
      messages.push(res.message);
      const calls = res.message.tool_calls ?? [];
      if (calls.length === 0) return res.message.content;
      for (const c of calls) {
        const result = await this.callReadOnly(c.function.name, c.function.arguments).catch((err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }));
        messages.push({ role: "tool", tool_name: c.function.name, content: JSON.stringify(result).slice(0, 8000) });
      }
    }
    return "(no answer after four rounds of tool calls)";
  }

  private callReadOnly(name: string, args: Record<string, unknown>): Promise<unknown> {
    if (!readOnlyTools.has(name)) throw new ChatError(`'${name}' is not a read-only tool`);
    const { lastSeconds, ...rest } = args;
    return this.o.tools.call(name, { ...rest, ...(typeof lastSeconds === "number" ? { window: { lastSeconds } } : {}) }, z.unknown());
  }

  /** An incident as the store keeps it: by its id, or by a prefix only one recent incident has. */
  private async stored(id: string): Promise<IncidentRecord> {
    const byId = await this.o.tools.getIncident(id).catch((err: unknown) => {
      if (err instanceof ToolCallError) return null;
      throw err;
    });
    if (byId) return byId;
    const hits = (await this.o.tools.listIncidents({ limit: 500 })).incidents.filter((i) => i.incidentId.startsWith(id));
    if (hits.length !== 1) throw new ChatError(hits.length ? `'${id}' matches ${hits.length} incidents; give more of the id` : `no incident '${id}'`);
    return this.o.tools.getIncident(hits[0]!.incidentId);
  }

  private async incident(id: string): Promise<RunOutcome> {
    const all = await this.o.runner.incidents();
    const inc = all.find((i) => i.incidentId === id) ?? uniquePrefix(all, id);
    if (!inc) throw new ChatError(`no incident '${id}'`);
    return inc;
  }

  private async findWaiting(id: string): Promise<RunOutcome | undefined> {
    const pending = await this.o.runner.pending();
    return pending.find((i) => i.incidentId === id || i.awaiting?.proposalId === id) ?? uniquePrefix(pending, id);
  }

  private requireApprover(): McpTools {
    if (!this.o.approver) throw new ChatError("approving and rejecting need MLWATCH_APPROVER_TOKEN (a person's token); the agent's own token can never approve");
    return this.o.approver;
  }

  private track(p: Promise<void>): void {
    const t = p.catch((err: unknown) => this.o.print(`run failed: ${err instanceof Error ? err.message : String(err)}`)).finally(() => this.background.delete(t));
    this.background.add(t);
  }
}

class ChatError extends Error {}

function why(r: IncidentRecord): string {
  const d = r.diagnosis;
  const lines = [`incident ${r.incidentId} (${r.model}) — ${r.status}`];
  if (d) lines.push(`${d.rootCause} (${d.category}), confidence ${d.confidence.toFixed(2)}, remedy ${d.remedy}, by ${d.reasoner}${d.fallbackReason ? ` (fallback: ${d.fallbackReason})` : ""}`, d.explanation);
  else lines.push(r.timeline[0]?.event ?? "no diagnosis yet");
  lines.push("evidence:", ...r.evidence.map((e) => `  [${e.id}] ${e.tool}(${JSON.stringify(e.args)}) — ${e.summary}`));
  return lines.join("\n");
}

export function renderRequest(r: ApprovalRequest): string {
  const d = r.diagnosis;
  return [
    `[${r.incidentId}] ${r.what} — proposal ${r.proposalId}${r.expiresAt ? ` (expires ${r.expiresAt})` : ""}`,
    d ? `  diagnosis: ${d.rootCause} (${d.category}), confidence ${d.confidence.toFixed(2)}, by ${d.reasoner}${d.features.length ? `; features ${d.features.join(", ")}` : ""}` : "",
    `  why: ${r.why}`,
    r.expectedEffect ? `  expected effect: ${r.expectedEffect}` : "",
    ...(r.plan ? ["  rollout plan (each stage starts only when the one before passed its gate; any failed gate takes the candidate out):", ...r.plan.map((s, i) => `    ${i === 0 ? "•" : `${i}.`} ${s}`)] : []),
    `  undo: ${r.undo}`,
    "  evidence:",
    ...r.evidence.map((e) => `    [${e.id}] ${e.tool}(${JSON.stringify(e.args)}) — ${e.summary}`),
    `  → approve ${r.proposalId} [reason] | reject ${r.proposalId} [reason] | edit ${r.proposalId} version=<v> [-- reason]`,
  ]
    .filter(Boolean)
    .join("\n");
}

function render(o: RunOutcome): string {
  if (o.incident) return o.incident.text;
  if (o.awaiting) return renderRequest(o.awaiting);
  return `incident ${o.incidentId}: ${o.status}`;
}

function uniquePrefix(list: RunOutcome[], prefix: string): RunOutcome | undefined {
  const hits = list.filter((i) => i.incidentId.startsWith(prefix) || i.awaiting?.proposalId.startsWith(prefix));
  return hits.length === 1 ? hits[0] : undefined;
}

function windowOf(seconds: string | undefined): Window {
  const s = Number(seconds);
  return { lastSeconds: Number.isFinite(s) && s > 0 ? s : 3600 };
}

const readOnlyTools = new Set(["list_models", "get_model_accuracy", "detect_data_drift", "query_inference_logs", "compare_model_versions", "get_feature_distribution", "get_model_health", "get_deployment_history", "get_proposal", "list_proposals", "get_rollout", "list_incidents", "get_incident"]);

const modelArg = { model: { type: "string", description: "model name" } };
const windowArg = { lastSeconds: { type: "number", description: "look back this many seconds (default 3600)" } };
const tool = (name: string, description: string, properties: Record<string, { type: string; description: string }>, required: string[]): Tool => ({
  type: "function",
  function: { name, description, parameters: { type: "object", properties, required } },
});
const chatTools: Tool[] = [
  tool("list_models", "models being served", {}, []),
  tool("get_model_accuracy", "realized accuracy with its interval, label coverage, CBPE estimate, by version and over time", { ...modelArg, ...windowArg }, ["model"]),
  tool("detect_data_drift", "input drift by feature ranked by PSI, prediction drift and the data set's verdict", { ...modelArg, ...windowArg }, ["model"]),
  tool("get_model_health", "latency percentiles, error rate and errors by reason, by version", { ...modelArg, ...windowArg }, ["model"]),
  tool("get_deployment_history", "deployments, promotions, rollbacks and traffic splits, newest first", modelArg, ["model"]),
  tool("query_inference_logs", "individual predictions; correct=false gives wrong ones", { ...modelArg, correct: { type: "boolean", description: "only right or only wrong predictions" }, limit: { type: "number", description: "rows, at most 100" } }, ["model"]),
  tool("list_proposals", "the agent's proposals and their status", { status: { type: "string", description: "pending, approved, rejected, applied, expired" } }, []),
  tool("list_incidents", "the agent's incidents, newest first, with status and summary", modelArg, []),
  tool("get_incident", "one incident in full: diagnosis, evidence, decisions, timeline", { incident_id: { type: "string", description: "incident id" } }, ["incident_id"]),
];
