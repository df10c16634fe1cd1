/**
 * `mlwatch models ensemble` (in the store, then through a running serve) and `mlwatch bandit`
 * (a client of serve's admin API), each in its own process as a user runs them.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServe, type ServeProcess } from "./helpers/serve-process.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const BIN = path.join(ROOT, "bin/mlwatch.js");
const TOKEN = "cli-bandit-admin-token-0123456789";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-cli-bandit-"));
let serve: ServeProcess | undefined;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, MLWATCH_DATA_DIR: dir, MLWATCH_ADMIN_TOKEN: TOKEN, ...(serve ? { MLWATCH_INFERENCE_URL: serve.url } : {}) };
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  for (const seed of ["1", "2"]) expect((await cli(["train", "--name", "m", "--rows", "1500", "--seed", seed])).code).toBe(0);
}, 240_000);

afterAll(async () => {
  await serve?.stop("SIGTERM");
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("mlwatch models ensemble", () => {
  it("registers v3 as the mean of v1 and v2 in the store; refuses one member before any work", async () => {
    const r = await cli(["models", "ensemble", "m", "1", "2"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/registered m v3: mean ensemble of v1, v2, reference accuracy \d+\.\d+%/);
    const one = await cli(["models", "ensemble", "m", "1"]);
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/at least two versions; got 1/);
  }, 120_000);

  it("goes through serve while serve owns the store, and says so", async () => {
    serve = await startServe({ MLWATCH_DATA_DIR: dir, MLWATCH_HOST: "127.0.0.1", MLWATCH_PORT: "0", MLWATCH_ADMIN_TOKEN: TOKEN });
    const r = await cli(["models", "ensemble", "m", "v1", "v2", "--method", "weighted", "--weights", "2,1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/registered m v4: weighted ensemble of v1, v2.*through mlwatch serve at http:\/\/127\.0\.0\.1:\d+/);
  }, 120_000);
});

describe("mlwatch bandit", () => {
  it("starts a bandit over two versions, shows it with its allocation, and stops it", async () => {
    expect((await cli(["deploy", "m", "1"])).code).toBe(0);
    const started = await cli(["bandit", "m", "1", "3", "--policy", "ucb", "--floor", "20", "--reason", "let labels choose"]);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toMatch(/bandit  ucb over v1, v3, floor 20% each/);
    const shown = await cli(["traffic", "m"]);
    expect(shown.stdout).toMatch(/arm\s+share\s+labelled\s+mean reward/);
    expect(shown.stdout).toMatch(/v1\s+\d+\.\d%\s+0\s+—/);
    const stopped = await cli(["bandit", "m", "--stop"]);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).not.toMatch(/bandit  /);
  }, 120_000);

  it("refuses one version: exit 2 before any request, or the admin API's reason (exit 1) when it is named twice", async () => {
    const one = await cli(["bandit", "m", "2"]);
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/at least two versions/);
    const twice = await cli(["bandit", "m", "2", "v2"]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/400 invalid_change: a bandit needs at least two distinct versions/);
  }, 120_000);
});
