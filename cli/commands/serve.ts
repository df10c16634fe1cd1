import type { Command } from "../command.ts";
import { parse, UsageError } from "../command.ts";
import { loadConfig } from "../../config.ts";
import { openStore } from "../../store/client.ts";
import { migrate } from "../../store/migrations.ts";
import { startInferenceService, type InferenceService } from "../../inference/service.ts";
import { loadMcpConfig } from "../../mcp-server/config.ts";
import { createMcpMetrics } from "../../mcp-server/metrics.ts";
import { mcpHttpOptionsFrom, registerMcpHttp } from "../../mcp-server/transports/http.ts";
import type { OnDecision } from "../../mcp-server/actions.ts";
import { loadAgentConfig } from "../../agent/configuration.ts";
import { openAgent } from "../../agent/runtime.ts";
import { registerAlertWebhook } from "../../agent/webhook.ts";
import { registerConsole } from "../../console/routes.ts";

const usage = `usage: mlwatch serve [--port N] [--host H]

One process that owns the log store and hosts every role that needs it:
  - the inference service: /v1/models/:name/predict, /v1/feedback, /v1/admin/*, /docs, /metrics
  - the MCP server over Streamable HTTP at /mcp (token MLWATCH_MCP_TOKEN; loopback-only without one)
    and the approver-only POST /v1/approvals/:id (MLWATCH_APPROVER_TOKEN)
  - the agent's alert webhook POST /v1/alerts (Alertmanager's payload starts an investigation)
  - the web console at /ui: models, incidents, approve / reject after signing in with
    MLWATCH_APPROVER_TOKEN (read-only and loopback-only without one)
Listens on MLWATCH_HOST:MLWATCH_PORT (default 127.0.0.1:8080). In embedded mode other mlwatch
commands (mcp, agent, chat, approve) reach this process over HTTP.
SIGTERM, SIGINT or SIGHUP stop it gracefully: no new connections, in-flight requests answered,
the prediction and label logs flushed to the store, the store closed.

  --port N   listen on port N instead of MLWATCH_PORT (0: any free port)
  --host H   listen on H instead of MLWATCH_HOST`;

const options = { port: { type: "string" }, host: { type: "string" } } as const;

/** After this long, connections still open (an MCP event stream, a stuck client) are cut so shutdown ends. */
const GRACE_MS = 10_000;

export const serveCommand: Command = {
  name: "serve",
  summary: "serve models, the MCP endpoint and the alert webhook in the process that owns the store",
  usage,
  async run(argv) {
    const { values } = parse(argv, options);
    const env = { ...process.env, ...listenEnv(values) };
    const config = loadConfig(env);
    const mcp = loadMcpConfig(env);
    const agentConfig = loadAgentConfig(env);
    const store = await openStore(config);
    try {
      await migrate(store);
      // Lazy: the agent's MCP endpoint is this very process, which is not listening yet.
      const agent = await openAgent(agentConfig, { lazy: true });
      try {
        const service = await startInferenceService({
          config,
          store,
          extend: async (app, registry) => {
            // A run of this process waiting on the proposal goes on (apply, verify) as after `approve` in chat.
            const onDecision: OnDecision = (id, decision) => void agent.runner.resumeFor(id, decision).catch((err: unknown) => console.error(`mlwatch serve: resuming the run waiting on ${id} failed: ${String(err)}`));
            await registerMcpHttp(app, { ...mcpHttpOptionsFrom(store, config, mcp, mcp.inferenceUrl, createMcpMetrics(registry)), onDecision });
            registerAlertWebhook(app, { runner: agent.runner, token: agentConfig.alertToken });
            await registerConsole(app, {
              store,
              approverToken: mcp.approverToken,
              agentToken: mcp.mcpToken,
              onDecision,
            });
          },
        });
        console.log(`mlwatch serving on ${service.url} (console ${service.url}/ui, MCP ${service.url}/mcp, docs ${service.url}/docs, metrics ${service.url}/metrics)`);
        const signal = await nextSignal();
        console.error(`mlwatch serve: ${signal}: stopping (in-flight requests are answered, the log is flushed)`);
        await closeWithin(service, GRACE_MS);
      } finally {
        await agent.close();
      }
    } finally {
      await store.close();
    }
    console.error("mlwatch serve: stopped");
  },
};

/** --port and --host override MLWATCH_PORT and MLWATCH_HOST, validated by the same schema. */
function listenEnv(values: { port?: string | undefined; host?: string | undefined }): Record<string, string> {
  if (values.port !== undefined && !(/^\d+$/.test(values.port) && Number(values.port) <= 65535)) throw new UsageError(`--port must be a whole number in 0..65535, not '${values.port}'`);
  if (values.host === "") throw new UsageError("--host must not be empty");
  return { ...(values.port !== undefined ? { MLWATCH_PORT: values.port } : {}), ...(values.host !== undefined ? { MLWATCH_HOST: values.host } : {}) };
}

/** The first SIGTERM, SIGINT or SIGHUP. A second one finds no handler and ends the process at once (the spool keeps unflushed rows). */
function nextSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const signals: NodeJS.Signals[] = ["SIGTERM", "SIGINT", "SIGHUP"];
    const on = (signal: NodeJS.Signals) => {
      for (const s of signals) process.removeListener(s, on);
      resolve(signal);
    };
    for (const s of signals) process.once(s, on);
  });
}

/**
 * Stops accepting, lets in-flight requests finish (fastify answers new requests on kept-alive
 * connections with 503 meanwhile), flushes the log writers. Connections that outlive the grace
 * period are cut, so a client holding a stream open cannot keep the store locked.
 */
async function closeWithin(service: InferenceService, graceMs: number): Promise<void> {
  const cut = setTimeout(() => service.app.server.closeAllConnections(), graceMs);
  try {
    await service.close();
  } finally {
    clearTimeout(cut);
  }
}
