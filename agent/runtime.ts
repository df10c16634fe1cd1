import fs from "node:fs";
import path from "node:path";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import type { AgentConfig } from "./configuration.ts";
import { buildGraph, defaultReasoner, type AgentGraph } from "./graph.ts";
import { recordThrough } from "./incident-record.ts";
import { AgentRunner } from "./runner.ts";
import { connectMcp, lazyMcpTools, type McpTarget, type McpTools } from "./tools.ts";

export interface Agent {
  graph: AgentGraph;
  runner: AgentRunner;
  /** The agent's own connection (MLWATCH_MCP_TOKEN): reads, proposes, applies; never approves. */
  tools: McpTools;
  /** Only with MLWATCH_AUTO_APPROVE: the approver connection auto-approval goes through. */
  approver: McpTools | undefined;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Where the MCP server is; default the Streamable HTTP endpoint in the configuration. */
  mcp?: McpTarget;
  /** Connect on the first tool call instead of now (the webhook, hosted before the MCP endpoint listens). */
  lazy?: boolean;
  print?: (text: string) => void;
  /** Time as the agent sees it; a simulation passes its virtual clock. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** The agent as the CLI and `mlwatch serve` run it: MCP connection(s), SQLite checkpoints, graph, runner. */
export async function openAgent(config: AgentConfig, o: OpenOptions = {}): Promise<Agent> {
  const target = o.mcp ?? { url: config.mcp.url, token: config.mcp.token };
  const connect = (t: McpTarget, name: string) => (o.lazy ? Promise.resolve(lazyMcpTools(t, name)) : connectMcp(t, name));
  const tools = await connect(target, "mlwatch-agent");
  const approver = config.autoApprove && "url" in target ? await connect({ url: target.url, token: config.mcp.approverToken }, "mlwatch-auto-approver") : undefined;
  if (config.autoApprove && !approver) throw new Error("MLWATCH_AUTO_APPROVE needs the MCP server over HTTP, where the approver token can be presented");
  fs.mkdirSync(path.dirname(config.checkpointPath), { recursive: true });
  const checkpointer = SqliteSaver.fromConnString(config.checkpointPath);
  const graph = buildGraph({ tools, reasoner: defaultReasoner(config), config, checkpointer, ...(approver ? { approver } : {}), ...(o.print ? { print: o.print } : {}), ...(o.now ? { now: o.now } : {}), ...(o.sleep ? { sleep: o.sleep } : {}) });
  return {
    graph,
    runner: new AgentRunner(graph, checkpointer, { record: recordThrough(tools, o.print ?? console.error), ...(o.now ? { now: o.now } : {}) }),
    tools,
    approver,
    async close() {
      await tools.close();
      await approver?.close();
      checkpointer.db.close();
    },
  };
}

