/**
 * `mlwatch simulate` as `npm start` runs it (table output, not --json) on one fault and one control
 * scenario of the real suite, scaled down: the process must finish with exit 0 and print the
 * result and score tables. `npm start` once died mid-suite on a degenerate drift window.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

/** A whole simulation in its own process: seconds on a quiet machine, minutes on a loaded two-core one. */
const SIMULATION_TIMEOUT_MS = 300_000;

const run = promisify(execFile);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-sim-cli-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function simulate(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  // Other test files load both cores meanwhile: the latency SLO is relaxed as in simulation.test.ts.
  const env = { ...process.env, MLWATCH_DATA_DIR: dir, MLWATCH_SLO_MAX_P99_MS: "5000" };
  try {
    const { stdout, stderr } = await run("node", ["bin/mlwatch.js", "simulate", ...args], { env, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The table row whose first cell is `first` (the last such line: progress lines start alike), split on the two-space column gaps. */
function row(stdout: string, first: string): string[] {
  const line = stdout.split("\n").findLast((l) => l.startsWith(`${first} `));
  expect(line, `a table row for ${first}`).toBeDefined();
  return line!.split(/\s{2,}/);
}

describe("mlwatch simulate (table output)", () => {
  it("runs a fault and a control scenario of the suite and prints both tables with exit 0", async () => {
    const reportDir = path.join(dir, "report");
    const r = await simulate([
      "--scenario", "simulations/scenarios/07-bad-deploy.json",
      "--scenario", "simulations/scenarios/11-control-stable.json",
      "--scale", "0.2",
      "--report-dir", reportDir,
    ]);
    expect(r.stderr).not.toMatch(/Error|at .*\.ts:\d+/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^scenario\s+expected\s+detected\s+root cause\s+features\s+remedy\s+recovered\s+accuracy before → during → after\s.*rule baseline$/m);
    const fault = row(r.stdout, "bad-deploy#29");
    expect(fault.slice(1, 3)).toEqual(["bad_deploy/rollback", expect.stringMatching(/^yes/)]);
    const control = row(r.stdout, "control-stable#43");
    expect(control.slice(1, 4)).toEqual(["none/none", "no", "none ✓"]);
    expect(r.stdout).toMatch(/^score\s+agent\s+rule-only baseline$/m);
    // The agent's column only: the rule-only baseline judges p99 against its own reference, which other test files' load moves.
    expect(row(r.stdout, "false-alarm rate").slice(0, 2)).toEqual(["false-alarm rate", "0%"]);
    expect(row(r.stdout, "unapproved actions").slice(0, 2)).toEqual(["unapproved actions", "0"]);
    expect(r.stdout).toContain(`report: ${path.join(reportDir, "suite.json")}`);
    expect(fs.existsSync(path.join(reportDir, "suite.md"))).toBe(true);
  }, SIMULATION_TIMEOUT_MS);

  it("refuses a scale outside (0, 10] with one line and exit 2", async () => {
    const r = await simulate(["--scale", "0"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^mlwatch simulate: --scale must be a number in \(0, 10\]/)]);
  });
});
