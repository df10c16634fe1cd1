/**
 * A decision made with `mlwatch approve` reaches a run of `mlwatch agent` in another process: every
 * role is its own real process on one embedded store (`mlwatch serve` owns it and hosts /mcp; the
 * agent, a person's `mlwatch approve` and the traffic are its clients over HTTP). v1 serves, then a
 * worse v2 is deployed; a first `agent --once` round diagnoses the bad deploy, proposes the rollback
 * and leaves the run waiting; a second round while the proposal is pending neither resumes it nor
 * opens another incident; the person approves from the command line; the next round reads the
 * decision through get_proposal, resumes the run, applies the rollback through the admin API and
 * verifies on the traffic that follows. Before, only `mlwatch chat` resumed a waiting run.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectMcp, type McpTools } from "../agent/tools.ts";
import { loadConfig } from "../config.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import type { ModelVersion } from "../models/registry.ts";
import { openStore } from "../store/client.ts";
import { migrate } from "../store/migrations.ts";
import { eventually } from "./helpers/eventually.ts";
import { postOk, requestJson } from "./helpers/http.ts";
import { labelledTraffic, type LabelledTraffic } from "./helpers/labelled-traffic.ts";
import { TOKENS } from "./helpers/mcp-stack.ts";
import { labelNoised, registerTrained } from "./helpers/models.ts";
import { processGroupAlive } from "./helpers/serve-process.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const BIN = path.join(ROOT, "bin/mlwatch.js");
const { admin: ADMIN, agent: AGENT, approver: APPROVER } = TOKENS;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-agent-approve-"));
/** Process groups started here and not known to have ended. */
const groups = new Set<number>();
let url = "";
let v1: ModelVersion;
let v2: ModelVersion;
let traffic: LabelledTraffic;
let reader: McpTools;

interface Exited {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `mlwatch <args>` in a process group of its own (bin/mlwatch.js may leave children; the group goes with it). */
function mlwatch(args: string[], env: Record<string, string>): { exited: Promise<Exited>; output: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true, env: { ...process.env, MLWATCH_DATA_DIR: dir, LOG_LEVEL: "warn", ...env } });
  groups.add(child.pid!);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<Exited>((resolve) =>
    child.once("close", (code) => {
      groups.delete(child.pid!);
      resolve({ code, stdout, stderr });
    }),
  );
  return { exited, output: () => stdout + stderr };
}

/** The agent as its own process: the agent's token only, no approver or admin credential. */
const agentRound = () => mlwatch(["agent", "--once"], {
  MLWATCH_URL: `${url}/mcp`,
  MLWATCH_MCP_TOKEN: AGENT,
  MLWATCH_AGENT_MIN_LABELLED: "150",
  MLWATCH_AGENT_VERIFY_DEADLINE_S: "60",
  MLWATCH_AGENT_VERIFY_POLL_S: "0.5",
  MLWATCH_AGENT_VERIFY_MIN_ROWS: "150",
  MLWATCH_AGENT_VERIFY_TOLERANCE: "0.05",
});

const adminGet = async (route: string) => {
  const res = await requestJson(`${url}/v1/admin/models/credit/${route}`, { headers: { authorization: `Bearer ${ADMIN}` } });
  expect(res.status, route).toBe(200);
  return res.json;
};
const primary = async (): Promise<string | null> => (await adminGet("traffic")).state.primary;

/** Until the serving process has flushed `n` labelled rows to the store. */
const labelled = (n: number) => eventually(async () => expect((await reader.accuracy({ model: "credit", window: { lastSeconds: 3600 } })).labelled).toBeGreaterThanOrEqual(n), 30_000, 100);

beforeAll(async () => {
  // Both versions are registered before serve starts: while it runs, it owns the embedded store.
  const store = await openStore(loadConfig({ MLWATCH_DATA_DIR: dir }));
  try {
    await migrate(store);
    const modelDir = loadConfig({ MLWATCH_DATA_DIR: dir }).modelDir;
    v1 = await registerTrained(store, modelDir, { model: "credit", seed: 1, rows: 3000 });
    v2 = await registerTrained(store, modelDir, { model: "credit", seed: 2, data: labelNoised(generateCredit(3000, 2), 0.4, 7) });
  } finally {
    await store.close();
  }
  const serve = mlwatch(["serve"], {
    MLWATCH_PORT: "0",
    MLWATCH_HOST: "127.0.0.1",
    MLWATCH_ADMIN_TOKEN: ADMIN,
    MLWATCH_MCP_TOKEN: AGENT,
    MLWATCH_APPROVER_TOKEN: APPROVER,
    MLWATCH_MCP_ACTIONS: "1",
    MLWATCH_LOG_FLUSH_MS: "50",
    MLWATCH_STATE_POLL_MS: "100",
    // Only the agent rolls back here: the service's own guard watches errors and latency, which stay fine.
    MLWATCH_AUTO_ROLLBACK_MAX_P99_MS: "60000",
  });
  url = await eventually(() => {
    const m = /mlwatch serving on (http:\/\/\S+)/.exec(serve.output());
    if (!m) throw new Error(`serve did not start:\n${serve.output()}`);
    return m[1]!;
  }, 60_000, 50);
  reader = await connectMcp({ url: `${url}/mcp`, token: AGENT }, "agent-approve-test");
  const admin = (route: string, body: Record<string, unknown>) => postOk(`${url}/v1/admin/models/credit/${route}`, { actor: "test", reason: "setup", ...body }, { authorization: `Bearer ${ADMIN}` });
  traffic = labelledTraffic({ url }, v1.schema.classes, "agent-approve");
  await admin("deploy", { version: v1.version, role: "primary" });
  await traffic(500, 11);
  await labelled(500);
  await admin("deploy", { version: v2.version, role: "primary" });
  await traffic(500, 12);
  await labelled(1000);
}, 120_000);

afterAll(async () => {
  await reader?.close();
  for (const pgid of groups) if (processGroupAlive(pgid)) process.kill(-pgid, "SIGTERM");
  for (const pgid of groups) await eventually(() => expect(processGroupAlive(pgid)).toBe(false), 15_000, 100).catch(() => process.kill(-pgid, "SIGKILL"));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("mlwatch agent picks up a decision made with mlwatch approve", () => {
  let incidentId = "";
  let proposalId = "";

  it("a round proposes the rollback and leaves the run waiting for a person", async () => {
    const first = await agentRound().exited;
    expect(first.code, first.stderr).toBe(0);
    const request = /^\[(inc-credit-\S+)\] rollback to v(\S+) for credit — proposal (\S+)/m.exec(first.stdout);
    expect(request, first.stdout).not.toBeNull();
    [, incidentId = "", , proposalId = ""] = request!;
    expect(request![2]).toBe(v1.version);
    expect(first.stdout).toContain(`mlwatch approve ${proposalId}`);
    expect(await reader.getProposal(proposalId)).toMatchObject({ status: "pending", action: "rollback", params: { version: v1.version } });
    expect((await reader.getIncident(incidentId)).diagnosis).toMatchObject({ rootCause: "bad_deploy", remedy: "rollback" });
    expect(await primary()).toBe(v2.version);
  }, 60_000);

  it("a round while the proposal is pending leaves the run waiting and opens no other incident", async () => {
    const again = await agentRound().exited;
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe("");
    const incidents = (await reader.listIncidents({ model: "credit" })).incidents;
    expect(incidents).toEqual([expect.objectContaining({ incidentId, status: "awaiting_approval", pendingProposalId: proposalId })]);
    expect(await primary()).toBe(v2.version);
  }, 60_000);

  it("after `mlwatch approve`, the next round resumes the run with the person's decision, applies the rollback and verifies", async () => {
    const person = await mlwatch(["approve", proposalId, "--as", "alice", "--reason", "v2 is clearly worse"], { MLWATCH_URL: `${url}/mcp`, MLWATCH_APPROVER_TOKEN: APPROVER }).exited;
    expect(person.code, person.stderr).toBe(0);
    expect(person.stdout).toMatch(new RegExp(`^approved proposal ${proposalId} by alice: rollback of 'credit'`, "m"));

    const round = agentRound();
    let ended = false;
    const exited = round.exited.finally(() => (ended = true));
    await eventually(async () => expect(ended || (await primary()) === v1.version).toBe(true), 60_000, 100);
    // Traffic goes on after the rollback, so verify has a window to judge.
    for (let batch = 0; !ended && batch < 100; batch++) {
      await traffic(100, 100 + batch);
      await new Promise((r) => setTimeout(r, 200));
    }
    const second = await exited;
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain(`incident ${incidentId}: proposal ${proposalId} was approved by alice (v2 is clearly worse); resuming: apply, then verify`);
    expect(second.stdout).toMatch(/RECOVERED/);

    expect(await primary()).toBe(v1.version);
    const events: { action: string; version: string; proposalId: string; approvalId: string; state: unknown }[] = (await adminGet("deployments?limit=100")).events;
    const applied = events.filter((e) => e.proposalId === proposalId && e.state !== null);
    expect(applied).toEqual([expect.objectContaining({ action: "rollback", version: v1.version })]);
    expect(applied[0]!.approvalId).not.toBe("");
    expect(await reader.getProposal(proposalId)).toMatchObject({ status: "applied", decided_by: "alice", decision_reason: "v2 is clearly worse" });

    const stored = await reader.getIncident(incidentId);
    expect(stored).toMatchObject({ status: "recovered", pendingProposalId: null, verification: { recovered: true } });
    expect(stored.closedAt).not.toBeNull();
    expect(stored.decisions).toEqual([expect.objectContaining({ decision: "approve", by: "alice", reason: "v2 is clearly worse", autoApproved: false, serverStatus: "approved" })]);
    expect(stored.actions).toEqual([expect.objectContaining({ ok: true, proposalId })]);
    // The resumed model is looked at again next round, not on the window the run was judged on.
    expect((await reader.listIncidents({ model: "credit" })).incidents.map((i) => i.incidentId)).toEqual([incidentId]);
  }, 120_000);
});
