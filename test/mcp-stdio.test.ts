import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CallToolResult, Client } from "@modelcontextprotocol/client";
import { mcpClient, StdioTransport } from "../agent/mcp-client.ts";
import { seedDriftScenario, type DriftScenario } from "./helpers/seed-store.ts";
import { tempStore } from "./helpers/temp-store.ts";
import { closedPort } from "./helpers/ports.ts";

const root = path.resolve(import.meta.dirname, "..");
let dir: string;
let s: DriftScenario;
let client: Client;
let stderr = "";

async function ok(name: string, args: Record<string, unknown>): Promise<{ data: Record<string, any>; summary: string }> {
  const r = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const first = r.content[0]?.type === "text" ? r.content[0].text : "";
  if (r.isError) throw new Error(`${name} failed: ${first}`);
  return { data: r.structuredContent as Record<string, any>, summary: first };
}

beforeAll(async () => {
  const t = await tempStore();
  dir = t.dir;
  s = await seedDriftScenario(t.store, t.config.modelDir);
  // The child opens this directory; chdb admits one process per data directory.
  await t.store.close();
  const transport = new StdioTransport({
    command: "npx",
    args: ["tsx", "mcp-server/main-stdio.ts"],
    cwd: root,
    env: {
      MLWATCH_DATA_DIR: dir,
      // Nothing listens there: no `serve` to bridge to, so the child opens the store itself.
      MLWATCH_URL: `http://127.0.0.1:${await closedPort()}/mcp`,
      MLWATCH_MCP_ACTIONS: "1",
      MLWATCH_APPROVER_TOKEN: "an-approver-token-0123456789",
      LOG_LEVEL: "warn",
    },
    stderr: "pipe",
  });
  transport.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  client = mcpClient("mcp-stdio-test");
  await client.connect(transport).catch((err) => {
    throw new Error(`${err}; child stderr: ${stderr}`);
  });
}, 180_000);

afterAll(async () => {
  await client?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("mlwatch mcp over stdio, owning the store", () => {
  it("serves from the store it opened, saying so on stderr only", async () => {
    expect(stderr).toMatch(/serving on stdio from the embedded store/);
    expect(client.getServerVersion()?.name).toBe("mlwatch");
  });

  it("speaks the 2026-07-28 revision with a client that offers it", () => {
    expect(client.getProtocolEra()).toBe("modern");
    expect(client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
  });

  it("offers actions but never the approve tool, even with an approver token configured", async () => {
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["list_models", "detect_data_drift", "get_deployment_history", "propose_action", "apply_action"]));
    expect(names).not.toContain("approve_action");
  });

  it("finds the drifted feature, the accuracy drop and the better version", async () => {
    const drift = await ok("detect_data_drift", { model: "credit", version: s.v1.version, window: s.windows.drifted });
    expect(drift.data.dataset.driftedFeatures).toEqual([s.driftedFeature]);
    const before = await ok("get_model_accuracy", { model: "credit", version: s.v1.version, window: s.windows.baseline });
    const after = await ok("get_model_accuracy", { model: "credit", version: s.v1.version, window: s.windows.drifted });
    expect(after.data.accuracy).toBeLessThan(before.data.accuracy - 0.05);
    const compare = await ok("compare_model_versions", { model: "credit", versionA: s.v1.version, versionB: s.v2.version, window: s.windows.drifted, mode: "shadow" });
    expect(compare.data.better).toBe(s.betterVersion);
  });

  it("records a proposal in the store and refuses to apply it unapproved", async () => {
    const history = await ok("get_deployment_history", { model: "credit" });
    expect(history.data.events[0].action).toBe("deploy");
    const p = await ok("propose_action", { model: "credit", action: "rollback", reason: "stdio test" });
    expect(p.data.status).toBe("pending");
    const r = (await client.callTool({ name: "apply_action", arguments: { proposal_id: p.data.proposal_id } })) as CallToolResult;
    expect(r.isError).toBe(true);
    expect(r.content[0]?.type === "text" && r.content[0].text).toMatch(/has not been approved by a person/);
    const after = await ok("get_deployment_history", { model: "credit", limit: 1 });
    expect(after.data.events[0]).toMatchObject({ action: "propose", proposal_id: p.data.proposal_id });
  });

  it("creates and migrates a fresh store while the client's first request waits on stdin", async () => {
    // chdb's INSERT polls the process's fd 0 for external data: with the protocol there, the
    // migration's INSERT would meet the pending initialize request (Code 48) or eat it.
    const fresh = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-fresh-"));
    const c = mcpClient("mcp-stdio-fresh");
    try {
      await c.connect(
        new StdioTransport({
          command: "npx",
          args: ["tsx", "mcp-server/main-stdio.ts"],
          cwd: root,
          env: { MLWATCH_DATA_DIR: fresh, MLWATCH_URL: `http://127.0.0.1:${await closedPort()}/mcp`, MLWATCH_MCP_ACTIONS: "1", LOG_LEVEL: "warn" },
          stderr: "ignore",
        }),
      );
      const r = (await c.callTool({ name: "list_models", arguments: {} })) as CallToolResult;
      expect(r.isError).toBeFalsy();
      expect((r.structuredContent as { models: unknown[] }).models).toEqual([]);
      const p = (await c.callTool({ name: "propose_action", arguments: { model: "credit", action: "rollback", reason: "x" } })) as CallToolResult;
      expect(p.content[0]?.type === "text" && p.content[0].text).toMatch(/unknown model 'credit' \(no model is registered\)/);
    } finally {
      await c.close();
      fs.rmSync(fresh, { recursive: true, force: true });
    }
  });
});
