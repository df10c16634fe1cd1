/**
 * MCP tool latency: every read-only tool called over real Streamable HTTP (SDK client → Fastify
 * endpoint → fresh stateless server per request → analysis → embedded chdb) on a seeded store.
 *
 *   npx tsx bench/mcp-tools.ts [rowsPerWindow]     (default 20000 rows in each of the 3 windows)
 *
 * The store holds the drift scenario of test/helpers/seed-store.ts (baseline, drifted + shadow, canary
 * windows: about 5 × rowsPerWindow prediction rows). Each tool is called once to warm up, then RUNS
 * times; prints median and max per tool and the size of each result, and writes
 * bench/results/mcp-tools.json. The per-call deadline (20 s) and the 256 KB result cap are the bounds.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import Fastify from "fastify";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { connectOver, httpTransport, mcpClient } from "../agent/mcp-client.ts";
import { loadConfig } from "../config.ts";
import { registerMcpHttp } from "../mcp-server/transports/http.ts";
import { openStore } from "../store/client.ts";
import { migrate } from "../store/migrations.ts";
import { seedDriftScenario } from "../test/helpers/seed-store.ts";
import { writeResult } from "./write-result.ts";

const RUNS = 9;
const rowsPerWindow = Number(process.argv[2] ?? 20_000);

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-bench-mcp-"));
  const config = loadConfig({ MLWATCH_DATA_DIR: dir, LOG_LEVEL: "warn" });
  const store = await openStore(config);
  const app = Fastify();
  try {
    await migrate(store);
    const seedStart = performance.now();
    const s = await seedDriftScenario(store, config.modelDir, { rows: rowsPerWindow });
    console.log(`seeded ${rowsPerWindow.toLocaleString("en-US")} rows per window in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);
    await registerMcpHttp(app, { deps: { store, config, adminToken: undefined, actionsEnabled: false }, mcpToken: undefined, approverToken: undefined, allowedOrigins: [] });
    const url = await app.listen({ host: "127.0.0.1", port: 0 });
    const client = await connectOver(mcpClient("bench"), httpTransport(`${url}/mcp`, undefined));

    const sixHours = { lastSeconds: 6 * 3600 };
    const v1 = s.v1.version;
    const v2 = s.v2.version;
    const calls: [string, Record<string, unknown>][] = [
      ["list_models", {}],
      ["get_model_health", { model: "credit", window: sixHours }],
      ["get_model_accuracy", { model: "credit", window: sixHours }],
      ["detect_data_drift", { model: "credit", version: v1, window: s.windows.drifted }],
      ["get_feature_distribution", { model: "credit", feature: "income", version: v1, window: s.windows.drifted }],
      ["compare_model_versions", { model: "credit", versionA: v1, versionB: v2, window: s.windows.drifted, mode: "shadow" }],
      ["query_inference_logs", { model: "credit", window: sixHours, correct: false, limit: 500 }],
      ["query_inference_logs", { model: "credit", window: sixHours, groupBy: "predicted" }],
      ["get_deployment_history", { model: "credit" }],
    ];
    const results = [];
    for (const [tool, args] of calls) {
      const once = async () => {
        const t0 = performance.now();
        const r = (await client.callTool({ name: tool, arguments: args })) as CallToolResult;
        const ms = performance.now() - t0;
        if (r.isError) throw new Error(`${tool}: ${r.content[0]?.type === "text" ? r.content[0].text : "error"}`);
        return { ms, bytes: Buffer.byteLength(JSON.stringify(r.structuredContent)) };
      };
      await once();
      const runs = [];
      for (let i = 0; i < RUNS; i++) runs.push(await once());
      const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
      const label = args.groupBy ? `${tool} (groupBy)` : tool;
      const row = { tool: label, medianMs: ms[Math.floor(ms.length / 2)]!, maxMs: ms[ms.length - 1]!, resultBytes: runs[0]!.bytes };
      results.push(row);
      console.log(`${label.padEnd(34)} median ${row.medianMs.toFixed(1).padStart(7)} ms   max ${row.maxMs.toFixed(1).padStart(7)} ms   ${(row.resultBytes / 1024).toFixed(1).padStart(6)} KB`);
    }
    await client.close();
    const report = { rowsPerWindow, runs: RUNS, cpus: os.cpus().length, loadAverage: os.loadavg(), results };
    writeResult("mcp-tools", report);
  } finally {
    await app.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
