import type { Command } from "../command.ts";
import { loadConfig } from "../../config.ts";
import { openStore } from "../../store/client.ts";
import { migrate } from "../../store/migrations.ts";
import { startInferenceService } from "../../inference/service.ts";
import { loadMcpConfig } from "../../mcp-server/config.ts";
import { mcpHttpOptionsFrom, registerMcpHttp } from "../../mcp-server/transports/http.ts";
import { loadAgentConfig } from "../../agent/configuration.ts";
import { openAgent } from "../../agent/runtime.ts";
import { registerAlertWebhook } from "../../agent/webhook.ts";

const usage = `usage: mlwatch serve

One process that owns the log store and hosts every role that needs it:
  - the inference service: /v1/models/:name/predict, /v1/feedback, /v1/admin/*, /docs, /metrics
  - the MCP server over Streamable HTTP at /mcp (token MLWATCH_MCP_TOKEN; loopback-only without one)
    and the approver-only POST /v1/approvals/:id (MLWATCH_APPROVER_TOKEN)
  - the agent's alert webhook POST /v1/alerts (Alertmanager's payload starts an investigation)
Listens on MLWATCH_HOST:MLWATCH_PORT (default 127.0.0.1:8080). In embedded mode other mlwatch
commands (mcp, agent, chat, approve) reach this process over HTTP.`;

export const serveCommand: Command = {
  name: "serve",
  summary: "serve models, the MCP endpoint and the alert webhook in the process that owns the store",
  usage,
  async run(argv) {
    const config = loadConfig();
    const mcp = loadMcpConfig();
    const agentConfig = loadAgentConfig();
    const store = await openStore(config);
    await migrate(store);
    // Lazy: the agent's MCP endpoint is this very process, which is not listening yet.
    const agent = await openAgent(agentConfig, { lazy: true });
    const service = await startInferenceService({
      config,
      store,
      extend: async (app) => {
        await registerMcpHttp(app, mcpHttpOptionsFrom(store, config, mcp, mcp.inferenceUrl));
        registerAlertWebhook(app, { runner: agent.runner, token: agentConfig.alertToken });
      },
    });
    console.log(`mlwatch serving on ${service.url} (MCP ${service.url}/mcp, docs ${service.url}/docs, metrics ${service.url}/metrics)`);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", () => resolve());
      process.once("SIGTERM", () => resolve());
    });
    await service.close();
    await agent.close();
    await store.close();
  },
};
