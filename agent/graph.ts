import { END, START, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";
import type { AgentConfig } from "./configuration.ts";
import type { Reasoner } from "./reasoners/reasoner.ts";
import { act } from "./nodes/act.ts";
import { approve } from "./nodes/approve.ts";
import type { AgentDeps } from "./nodes/common.ts";
import { investigate } from "./nodes/investigate.ts";
import { monitor } from "./nodes/monitor.ts";
import { propose } from "./nodes/propose.ts";
import { reason } from "./nodes/reason.ts";
import { revert } from "./nodes/revert.ts";
import { rollout } from "./nodes/rollout.ts";
import { summarize } from "./nodes/summarize.ts";
import { verify } from "./nodes/verify.ts";
import { deterministicReasoner } from "./reasoners/deterministic.ts";
import { ollamaReasoner } from "./reasoners/ollama.ts";
import { AgentState, type AgentStateType } from "./state.ts";
import type { McpTools } from "./tools.ts";

// monitor ─healthy─► END
//    └─► investigate ─► reason ─none/escalate─► summarize ─► END
//                          └─► propose ─► approve ─approve─► act ─► verify ─recovered─► summarize
//                                 ▲          │  └─reject──► summarize   │  │       └─► revert ─► summarize
//                                 └──edit────┘                          │  └─retrain─► rollout ─► summarize
//                                                            act failed ┴─► summarize

export function routeAfterMonitor(s: AgentStateType): "investigate" | typeof END {
  return s.status === "healthy" ? END : "investigate";
}

export function routeAfterReason(s: AgentStateType): "propose" | "summarize" {
  return s.diagnosis && s.diagnosis.remedy !== "none" && s.diagnosis.remedy !== "escalate" ? "propose" : "summarize";
}

export function routeAfterPropose(s: AgentStateType): "approve" | "summarize" {
  return s.status === "awaiting_approval" ? "approve" : "summarize";
}

/** Only an approval the server confirms leads to `act`; a rejection has no edge there. */
export function routeAfterApprove(s: AgentStateType): "act" | "propose" | "summarize" {
  if (s.status === "edit_requested") return "propose";
  return s.status === "approved" ? "act" : "summarize";
}

/** A retrain's rollout plan is followed stage by stage; every other action is verified at once. */
export function routeAfterAct(s: AgentStateType): "verify" | "rollout" | "summarize" {
  if (s.status === "rolling_out") return "rollout";
  return s.actionResult?.ok ? "verify" : "summarize";
}

export function routeAfterVerify(s: AgentStateType): "summarize" | "revert" {
  return s.verification?.recovered ? "summarize" : "revert";
}

export interface BuildOptions {
  tools: McpTools;
  reasoner: Reasoner;
  config: AgentConfig;
  checkpointer?: BaseCheckpointSaver;
  approver?: McpTools;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  print?: (text: string) => void;
}

export function buildGraph(o: BuildOptions) {
  const deps: AgentDeps = {
    tools: o.tools,
    reasoner: o.reasoner,
    config: o.config,
    ...(o.approver ? { approver: o.approver } : {}),
    now: o.now ?? Date.now,
    sleep: o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    print: o.print ?? ((text) => console.log(text)),
  };
  const node = (fn: (s: AgentStateType, d: AgentDeps) => Promise<typeof AgentState.Update>) => (s: AgentStateType) => fn(s, deps);
  return new StateGraph(AgentState)
    .addNode("monitor", node(monitor))
    .addNode("investigate", node(investigate))
    .addNode("reason", node(reason))
    .addNode("propose", node(propose))
    .addNode("approve", node(approve))
    .addNode("act", node(act))
    .addNode("verify", node(verify))
    .addNode("rollout", node(rollout))
    .addNode("revert", node(revert))
    .addNode("summarize", node(summarize))
    .addEdge(START, "monitor")
    .addConditionalEdges("monitor", routeAfterMonitor, ["investigate", END])
    .addEdge("investigate", "reason")
    .addConditionalEdges("reason", routeAfterReason, ["propose", "summarize"])
    .addConditionalEdges("propose", routeAfterPropose, ["approve", "summarize"])
    .addConditionalEdges("approve", routeAfterApprove, ["act", "propose", "summarize"])
    .addConditionalEdges("act", routeAfterAct, ["verify", "rollout", "summarize"])
    .addConditionalEdges("verify", routeAfterVerify, ["summarize", "revert"])
    .addEdge("rollout", "summarize")
    .addEdge("revert", "summarize")
    .addEdge("summarize", END)
    .compile(o.checkpointer ? { checkpointer: o.checkpointer } : {});
}

export type AgentGraph = ReturnType<typeof buildGraph>;

export function defaultReasoner(config: AgentConfig): Reasoner {
  return config.ollama.host ? ollamaReasoner({ host: config.ollama.host, model: config.ollama.model }) : deterministicReasoner;
}
