/**
 * Configuration errors are one line naming the variable, exit 2, and only for commands that read
 * that configuration: nothing reads the environment at import. agent/graph.ts once built the Studio
 * graph at import, so a bad MLWATCH_AGENT_* value crashed even `mlwatch models list` with a stack.
 * Also: langgraph.json loads from a fresh clone (no .env needed) and points at the Studio entry.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-config-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function mlwatch(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run("node", ["bin/mlwatch.js", ...args], { env: { ...process.env, MLWATCH_DATA_DIR: dir, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const badAgentEnv: [string, Record<string, string>, RegExp][] = [
  ["a bad MLWATCH_AGENT_WINDOW_S", { MLWATCH_AGENT_WINDOW_S: "an hour" }, /^mlwatch agent: invalid agent configuration: MLWATCH_AGENT_WINDOW_S: /],
  ["MLWATCH_AUTO_APPROVE=1 without a token", { MLWATCH_AUTO_APPROVE: "1" }, /^mlwatch agent: MLWATCH_AUTO_APPROVE=1 needs MLWATCH_APPROVER_TOKEN/],
];

describe("configuration errors", () => {
  for (const [what, env, message] of badAgentEnv) {
    it(`with ${what}: models list works, agent says one line and exits 2`, async () => {
      const list = await mlwatch(["models", "list"], env);
      expect(list).toMatchObject({ code: 0, stdout: "(none)\n", stderr: "" });
      const agent = await mlwatch(["agent", "--once"], env);
      expect(agent.code).toBe(2);
      expect(agent.stderr.trim().split("\n")).toEqual([expect.stringMatching(message)]);
    });
  }

  it("stops serve (which hosts the agent's webhook) on bad agent configuration with one line and exit 2", async () => {
    const r = await mlwatch(["serve", "--port", "0"], { MLWATCH_AGENT_WINDOW_S: "-5" });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^mlwatch serve: invalid agent configuration: MLWATCH_AGENT_WINDOW_S: /)]);
  });

  it("answers a bad store variable with one line naming it and exit 2", async () => {
    const r = await mlwatch(["store", "info"], { MLWATCH_LOG_TTL_DAYS: "forever" });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^mlwatch store: invalid configuration: MLWATCH_LOG_TTL_DAYS: /)]);
  });

  it("keeps the environment out of agent/graph.ts: the Studio graph is built in agent/studio.ts", () => {
    const config = JSON.parse(fs.readFileSync("langgraph.json", "utf8")) as { graphs: Record<string, string>; env?: unknown };
    const [file, name] = config.graphs["mlwatch"]!.split(":");
    expect([file, name]).toEqual(["./agent/studio.ts", "graph"]);
    expect(fs.readFileSync(file!, "utf8")).toMatch(/^export const graph = /m);
    expect(fs.readFileSync("agent/graph.ts", "utf8")).not.toMatch(/^export const graph\b/m);
    // A fresh clone has no .env: the file names none it would need (the environment is inherited).
    if (typeof config.env === "string") expect(fs.existsSync(config.env)).toBe(true);
    expect(fs.readFileSync(".gitignore", "utf8").split("\n")).toContain(".langgraph_api/");
  });
});
