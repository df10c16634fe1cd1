import Fastify, { type FastifyInstance } from "fastify";
import type { Client } from "@modelcontextprotocol/client";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { registerMcpHttp } from "../../mcp-server/transports/http.ts";
import { generateCredit } from "../../models/datasets/credit.ts";
import type { ModelVersion } from "../../models/registry.ts";
import { nowMicros } from "../../store/clock.ts";
import { recordDeploymentEvent } from "../../store/deployments.ts";
import { connectMcpClient } from "../helpers/mcp-stack.ts";
import { registerTrained } from "../helpers/models.ts";
import { seedPredictions } from "../helpers/seed-store.ts";
import { tempStore, type TempStore } from "../helpers/temp-store.ts";

export const AGENT = "hostile-mcp-agent-token-0123456789";
export const SEEDED = 300;

export interface McpFixture {
  /** The fixture's own store: closing the fixture removes it. */
  t: TempStore;
  app: FastifyInstance;
  client: Client;
  v1: ModelVersion;
  call(name: string, args: Record<string, unknown>): Promise<CallToolResult>;
  close(): Promise<void>;
}

/** One model with SEEDED logged, half-labelled predictions in the last hour, behind /mcp with actions on. */
export async function startMcpFixture(): Promise<McpFixture> {
  const t = await tempStore();
  const v1 = await registerTrained(t.store, t.config.modelDir, { model: "credit", rows: 1500 });
  await recordDeploymentEvent(t.store, { model: "credit", action: "deploy", version: v1.version, state: { primary: v1.version, previous: null, shadow: null, canary: null }, actor: "test", reason: "setup" });
  const examples = generateCredit(SEEDED, 31).examples;
  await seedPredictions(t.store, {
    model: "credit",
    version: v1.version,
    schema: v1.schema,
    rows: examples.map((e) => e.row),
    labels: examples.map((e, i) => (i % 2 ? v1.schema.classes[e.label]! : null)),
    startUs: nowMicros() - 30 * 60e6,
    stepUs: 1e6,
    requestIdPrefix: "seed-",
  });
  const app = Fastify();
  await registerMcpHttp(app, { deps: { store: t.store, config: t.config, adminToken: undefined, actionsEnabled: true }, mcpToken: AGENT, approverToken: undefined, allowedOrigins: [] });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  const client = await connectMcpClient(`${url}/mcp`, AGENT);
  return {
    t,
    app,
    client,
    v1,
    call: async (name, args) => (await client.callTool({ name, arguments: args })) as CallToolResult,
    async close() {
      await client.close();
      await app.close();
      await t.cleanup();
    },
  };
}

export const text = (r: CallToolResult) => r.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
