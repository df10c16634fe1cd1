/**
 * What one investigation costs: the agent's graph (monitor → investigate → reason → propose) over a
 * real MCP client on a seeded store, timed end to end, with the time each tool call took.
 *
 *   npx tsx bench/investigation.ts [rowsPerWindow]     (default 200000: about 1M prediction rows)
 *
 * The store holds the drift scenario of test/helpers/seed-store.ts (baseline, drifted + shadow and
 * canary windows). The agent looks back over the whole seeded span, so every tool reads all rows.
 * Runs the investigation RUNS times, each a new incident (the first warms up, then the median is taken),
 * prints median and max and the slowest tool calls, and writes bench/results/investigation.json.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { MemorySaver } from "@langchain/langgraph";
import { Client } from "@modelcontextprotocol/client";
import { InMemoryTransport } from "@modelcontextprotocol/server";
import { agentConfig } from "../agent/configuration.ts";
import { buildGraph } from "../agent/graph.ts";
import { deterministicReasoner } from "../agent/reasoners/deterministic.ts";
import { AgentRunner } from "../agent/runner.ts";
import { McpTools } from "../agent/tools.ts";
import { loadConfig } from "../config.ts";
import { createMcpServer } from "../mcp-server/server.ts";
import { openStore } from "../store/client.ts";
import { migrate } from "../store/migrations.ts";
import { seedDriftScenario } from "../test/helpers/seed-store.ts";
import { writeResult } from "./write-result.ts";

const RUNS = 4;
const HOUR_S = 3600;
const rowsPerWindow = Number(process.argv[2] ?? 200_000);

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-bench-investigation-"));
  const config = loadConfig({ MLWATCH_DATA_DIR: dir, LOG_LEVEL: "warn" });
  const store = await openStore(config);
  try {
    await migrate(store);
    const seedStart = performance.now();
    await seedDriftScenario(store, config.modelDir, { rows: rowsPerWindow });
    const rows = await store.rows<{ n: number }>(`SELECT count() AS n FROM ${store.table("predictions")}`, {});
    console.log(`seeded ${Number(rows[0]!.n).toLocaleString("en-US")} prediction rows in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);

    const server = createMcpServer({ store, config, inferenceUrl: "http://127.0.0.1:1", adminToken: undefined, actionsEnabled: true });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: "bench-agent", version: "0" });
    await client.connect(clientSide);
    // Each tool call timed where the agent makes it.
    let calls: { tool: string; ms: number }[] = [];
    const callTool = client.callTool.bind(client);
    client.callTool = async (...args: Parameters<typeof callTool>) => {
      const t0 = performance.now();
      try {
        return await callTool(...args);
      } finally {
        calls.push({ tool: args[0].name, ms: performance.now() - t0 });
      }
    };
    // The window reaches back over the drifted hours; the look back over everything seeded.
    const cfg = agentConfig({ windowSeconds: 4 * HOUR_S, thresholds: { recentDeploySeconds: 6 * HOUR_S } });
    const runner = new AgentRunner(buildGraph({ tools: new McpTools(client), reasoner: deterministicReasoner, config: cfg, checkpointer: new MemorySaver(), now: () => Date.now(), print: () => {} }), new MemorySaver());

    const runs: { ms: number; status: string; calls: { tool: string; ms: number }[] }[] = [];
    for (let i = 0; i < RUNS; i++) {
      calls = [];
      const t0 = performance.now();
      const out = await runner.start("credit");
      const ms = performance.now() - t0;
      runs.push({ ms, status: out.status, calls });
      console.log(`run ${i}: ${(ms / 1000).toFixed(2)} s, ${calls.length} tool calls, status ${out.status}, diagnosis ${out.state.diagnosis?.rootCause ?? "none"}`);
    }
    const timed = runs.slice(1).map((r) => r.ms).sort((a, b) => a - b);
    const slowest = [...runs[runs.length - 1]!.calls].sort((a, b) => b.ms - a.ms).slice(0, 5);
    const summary = { medianMs: timed[Math.floor(timed.length / 2)]!, maxMs: timed[timed.length - 1]! };
    console.log(`investigation: median ${(summary.medianMs / 1000).toFixed(2)} s, max ${(summary.maxMs / 1000).toFixed(2)} s (load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")})`);
    for (const c of slowest) console.log(`  ${c.tool.padEnd(28)} ${c.ms.toFixed(0).padStart(6)} ms`);
    await client.close();

    const report = { rowsPerWindow, predictionRows: Number(rows[0]!.n), runs: RUNS, cpus: os.cpus().length, loadAverage: os.loadavg(), ...summary, slowestCalls: slowest, perRun: runs.map((r) => ({ ms: r.ms, status: r.status, toolCalls: r.calls.length })) };
    writeResult("investigation", report);
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
