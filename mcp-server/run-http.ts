import Fastify from "fastify";
import { Registry } from "prom-client";
import { loadConfig } from "../config.ts";
import { openStore } from "../store/client.ts";
import { migrate } from "../store/migrations.ts";
import { loadMcpConfig } from "./config.ts";
import { createMcpMetrics } from "./metrics.ts";
import { mcpHttpOptionsFrom, registerMcpHttp } from "./transports/http.ts";

/**
 * The MCP endpoint on its own (`mlwatch mcp --http`). `mlwatch serve` hosts the same routes beside
 * inference (and must, in embedded mode); this is for server mode (CLICKHOUSE_URL), where the MCP
 * server may run apart from the inference replicas. Listens on MLWATCH_HOST:MLWATCH_PORT; applies
 * actions through MLWATCH_INFERENCE_URL. Runs until SIGINT or SIGTERM.
 */
export async function runMcpHttp(): Promise<void> {
  const config = loadConfig();
  const mcp = loadMcpConfig();
  const store = await openStore(config);
  await migrate(store);
  const app = Fastify({ logger: { level: config.logLevel } });
  const registry = new Registry();
  await registerMcpHttp(app, mcpHttpOptionsFrom(store, config, mcp, mcp.localInferenceUrl, createMcpMetrics(registry)));
  app.get("/metrics", async (_req, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  const host = process.env.MLWATCH_HOST ?? (mcp.mcpToken ? "0.0.0.0" : "127.0.0.1");
  const url = await app.listen({ host, port: config.inference.port });
  process.stderr.write(`mlwatch MCP endpoint at ${url}/mcp\n`);
  const stop = async () => {
    await app.close();
    await store.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}
