import fs from "node:fs";
import path from "node:path";
import { agentConfig } from "../../agent/configuration.ts";
import { openAgent, type Agent } from "../../agent/runtime.ts";
import { registerAlertWebhook } from "../../agent/webhook.ts";
import type { InferenceService } from "../../inference/service.ts";
import { registerMcpHttp } from "../../mcp-server/transports/http.ts";
import { registerTrained } from "../helpers/models.ts";
import { deployPrimary, startService } from "../helpers/service.ts";
import type { TempStore } from "../helpers/temp-store.ts";

export const ADMIN = "hostile-admin-token-0123456789";
export const AGENT = "hostile-agent-token-0123456789";
export const APPROVER = "hostile-approver-token-0123456789";
export const ALERT = "hostile-alert-token-0123456789";

export interface ServingApp {
  svc: InferenceService;
  agent: Agent;
  close(): Promise<void>;
}

/**
 * Every door `mlwatch serve` opens, composed as serve composes them (inference, /mcp with actions,
 * approvals, the alert webhook), each with its own token: what hostile callers get to knock on.
 */
export async function startServingApp(t: TempStore): Promise<ServingApp> {
  const checkpointPath = path.join(t.dir, "agent", "checkpoints.sqlite");
  fs.mkdirSync(path.dirname(checkpointPath), { recursive: true });
  const agent = await openAgent(agentConfig({ checkpointPath, alertToken: ALERT }), { lazy: true, mcp: { url: "http://127.0.0.1:1/mcp", token: AGENT }, print: () => undefined });
  const svc = await startService(t, async (app) => {
    await registerMcpHttp(app, {
      deps: { store: t.store, config: t.config, adminToken: ADMIN, actionsEnabled: true, limits: { callTimeoutMs: 10_000 } },
      mcpToken: AGENT,
      approverToken: APPROVER,
      allowedOrigins: [],
    });
    registerAlertWebhook(app, { runner: agent.runner, token: ALERT });
  });
  return {
    svc,
    agent,
    async close() {
      await svc.close();
      await agent.close();
    },
  };
}

/** The same doors with a trained credit model answering behind /predict, so bad input is refused by a live route. */
export async function startServingCredit(t: TempStore): Promise<ServingApp> {
  const v1 = await registerTrained(t.store, t.config.modelDir, { model: "credit", rows: 1500 });
  const app = await startServingApp(t);
  await deployPrimary(app.svc, v1.version);
  return app;
}
