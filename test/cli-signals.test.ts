/**
 * SIGTERM to `mlwatch serve` as a supervisor starts it (stdin a pipe, not a TTY, and the pid it
 * holds is the launcher's): the server stops within a bounded wait, answers or refuses what was in
 * flight, and every prediction it answered is in the store, flushed at shutdown rather than left in
 * the spool. bin/mlwatch.js once re-ran the CLI as a child with spawnSync and passed no signal on,
 * leaving the server running with its port and the store lock.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import { openStore } from "../store/client.ts";
import { eventually } from "./helpers/eventually.ts";
import { driveLoad } from "./helpers/load-driver.ts";
import { processGroupAlive, runCli } from "./helpers/serve-process.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-signals-"));
// No timed flush while the test runs: what reaches the store is what the shutdown flushed.
const env = { MLWATCH_DATA_DIR: dir, MLWATCH_LOG_FLUSH_MS: "600000", MLWATCH_PORT: "0" };
const rows = generateCredit(200, 5).examples.map((e) => e.row);
let launcher: ChildProcess | undefined;

beforeAll(async () => {
  await runCli(["train", "--name", "credit", "--rows", "2000"], env);
}, 120_000);

afterAll(() => {
  // Its own process group: whatever the launcher left behind is killed with it.
  if (launcher?.pid && processGroupAlive(launcher.pid)) process.kill(-launcher.pid, "SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });
});

/** `node bin/mlwatch.js serve` with a piped stdin, as a supervisor or `docker run` without -t starts it. */
async function startLauncher(): Promise<{ child: ChildProcess; url: string; output: () => string; exited: Promise<{ code: number | null; signal: string | null }> }> {
  const child = spawn(process.execPath, ["bin/mlwatch.js", "serve"], { stdio: ["pipe", "pipe", "pipe"], detached: true, env: { ...process.env, ...env } });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const url = await eventually(() => {
    const m = /mlwatch serving on (http:\/\/\S+)/.exec(output);
    if (!m) throw new Error(`serve did not start:\n${output}`);
    return m[1]!;
  }, 60_000, 50);
  return { child, url, output: () => output, exited };
}

/** Resolves with the exit, or rejects once the bounded wait is over. */
function exitWithin<T>(exited: Promise<T>, ms: number): Promise<T> {
  return Promise.race([exited, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still running ${ms} ms after SIGTERM`)), ms))]);
}

describe("signals", () => {
  it("SIGTERM to the launcher stops serve gracefully: every answered prediction is in the store", async () => {
    const s = await startLauncher();
    launcher = s.child;
    const deploy = await fetch(`${s.url}/v1/admin/models/credit/deploy`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ version: "1", role: "primary", actor: "signal-test", reason: "setup" }),
    });
    expect(deploy.status).toBe(200);

    let signalled = false;
    const load = driveLoad({ url: s.url, model: "credit", rows, concurrency: 8, idPrefix: "sig", stop: () => signalled });
    await eventually(async () => {
      const text = await (await fetch(`${s.url}/metrics`)).text();
      expect(Number(/model_predictions_total\{[^}]*\} (\d+)/.exec(text)?.[1] ?? 0)).toBeGreaterThan(300);
    }, 60_000, 50);
    // Requests are in flight as the signal lands; the launcher's pid is what a supervisor signals.
    s.child.kill("SIGTERM");
    signalled = true;
    const exit = await exitWithin(s.exited, 20_000);
    const result = await load;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(s.output()).toMatch(/mlwatch serve: SIGTERM: stopping/);
    expect(s.output()).toMatch(/mlwatch serve: stopped/);
    // Nothing of the process group is left holding the port or the store.
    // tsx's esbuild service, when a cold cache started one, is in the group too and leaves once its parent has gone.
    await eventually(() => expect(processGroupAlive(s.child.pid!)).toBe(false), 5_000, 50);
    await expect(fetch(`${s.url}/healthz`)).rejects.toThrow();
    expect(result.answered.length).toBeGreaterThan(300);

    const store = await openStore(loadConfig({ MLWATCH_DATA_DIR: dir }));
    try {
      const found = await store.rows<{ request_id: string }>(
        `SELECT DISTINCT request_id FROM ${store.table("predictions")} FINAL WHERE startsWith(request_id, 'sig-')`,
      );
      const stored = new Set(found.map((r) => r.request_id));
      expect(result.answered.filter((id) => !stored.has(id))).toEqual([]);
    } finally {
      await store.close();
    }
  }, 180_000);
});
