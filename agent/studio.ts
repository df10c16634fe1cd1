// The entry LangGraph Studio and the LangGraph CLI load (langgraph.json). It reads the agent's
// environment when loaded, so it lives apart from graph.ts: the CLI imports graph.ts for every
// command, and a bad MLWATCH_AGENT_* value must not break commands that never run the agent.
import { loadAgentConfig } from "./configuration.ts";
import { buildGraph, defaultReasoner } from "./graph.ts";
import { lazyMcpTools } from "./tools.ts";

/** Configured from the environment, connected on first use; the platform supplies the checkpointer. */
export const graph = (() => {
  const config = loadAgentConfig();
  return buildGraph({
    tools: lazyMcpTools({ url: config.mcp.url, token: config.mcp.token }),
    reasoner: defaultReasoner(config),
    config,
    ...(config.autoApprove ? { approver: lazyMcpTools({ url: config.mcp.url, token: config.mcp.approverToken }, "mlwatch-auto-approver") } : {}),
  });
})();
