import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import Fastify, { type FastifyInstance } from "fastify";
import { recordDeploymentEvent } from "../store/deployments.ts";
import { nowMicros } from "../store/clock.ts";
import { propose } from "../mcp-server/actions.ts";
import { getProposal } from "../rollout/proposals.ts";
import { registerMcpHttp } from "../mcp-server/transports/http.ts";
import { registerTrained } from "./helpers/models.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

const root = path.resolve(import.meta.dirname, "..");
const APPROVER = "cli-approver-token-0123456789";
let t: TempStore;
let app: FastifyInstance;
let mcpUrl: string;
let storeOpen = true;
const ids: string[] = [];

/** `mlwatch approve …` in its own process, as a person would run it. */
function approve(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = `import { approveCommand } from ${JSON.stringify(path.join(root, "cli/commands/approve.ts"))}; await approveCommand.run(process.argv.slice(1));`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, "--", ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", MLWATCH_DATA_DIR: t.dir, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr })));
}

beforeAll(async () => {
  t = await tempStore();
  const v1 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1, rows: 1500 });
  const v2 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 2, rows: 1500 });
  await recordDeploymentEvent(t.store, { model: "credit", action: "deploy", version: v2.version, state: { primary: v2.version, previous: v1.version, canary: null, shadow: null }, actor: "test", reason: "setup" });
  for (let i = 0; i < 4; i++) ids.push((await propose(t.store, { model: "credit", action: "rollback", reason: `cli test ${i}` }, "agent", nowMicros(), 3600)).id);
  // This process owns the embedded store, as `mlwatch serve` does, and hosts the approvals route.
  app = Fastify();
  await registerMcpHttp(app, { deps: { store: t.store, config: t.config, adminToken: undefined, actionsEnabled: true }, mcpToken: undefined, approverToken: APPROVER, allowedOrigins: [] });
  mcpUrl = `${await app.listen({ host: "127.0.0.1", port: 0 })}/mcp`;
}, 120_000);

afterAll(async () => {
  await app?.close();
  if (storeOpen) await t?.store.close();
  if (t) fs.rmSync(t.dir, { recursive: true, force: true });
});

describe("mlwatch approve while serve owns the store", () => {
  it("decides through the approvals route with the approver token", async () => {
    const listed = await approve(["--list"], { MLWATCH_URL: mcpUrl, MLWATCH_APPROVER_TOKEN: APPROVER });
    expect(listed.code).toBe(0);
    for (const id of ids) expect(listed.stdout).toContain(id);
    const r = await approve([ids[0]!, "--as", "alice", "--reason", "looks right"], { MLWATCH_URL: mcpUrl, MLWATCH_APPROVER_TOKEN: APPROVER });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`approved proposal ${ids[0]} by alice: rollback of 'credit'`));
    expect(await getProposal(t.store, ids[0]!)).toMatchObject({ status: "approved", decidedBy: "alice", decisionReason: "looks right" });
  });

  it("says what to do without an approver token, and refuses a second decision", async () => {
    const noToken = await approve([ids[1]!], { MLWATCH_URL: mcpUrl });
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/set MLWATCH_APPROVER_TOKEN/);
    const again = await approve([ids[0]!, "--as", "mallory"], { MLWATCH_URL: mcpUrl, MLWATCH_APPROVER_TOKEN: APPROVER });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/mlwatch approve: proposal .* is approved; only a pending proposal can be approved/);
    expect((await getProposal(t.store, ids[0]!)).decidedBy).toBe("alice");
    expect((await getProposal(t.store, ids[1]!)).status).toBe("pending");
  });
});

describe("mlwatch approve on a store nobody holds", () => {
  it("opens the store itself", async () => {
    await app.close();
    await t.store.close();
    storeOpen = false;
    const rejected = await approve([ids[2]!, "--reject", "--as", "bob", "--reason", "not now"], { MLWATCH_URL: mcpUrl });
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toMatch(new RegExp(`rejected proposal ${ids[2]} by bob`));
    const approved = await approve([ids[3]!, "--as", "carol"], {});
    expect(approved.stdout).toMatch(/approval id: [0-9a-f-]{36}/);
    const unknown = await approve(["no-such-proposal"], {});
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown proposal 'no-such-proposal'/);
  });
});
