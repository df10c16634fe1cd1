import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { connectMcpClient } from "./helpers/mcp-stack.ts";

const run = promisify(execFile);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-cli-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The real command, as a user runs it; each call is its own process, so the store is never shared. */
async function mlwatch(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run("node", ["bin/mlwatch.js", ...args], { env: { ...process.env, MLWATCH_DATA_DIR: dir, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe("mlwatch command line", () => {
  it("prints help for the command and every subcommand", async () => {
    const top = await mlwatch(["--help"]);
    expect(top.code).toBe(0);
    for (const name of ["train", "models", "store", "serve", "demo"]) {
      expect(top.stdout).toContain(name);
      const sub = await mlwatch([name, "--help"]);
      expect(sub.code).toBe(0);
      expect(sub.stdout).toMatch(/^usage: mlwatch/);
    }
  });

  it("trains, registers, lists, shows and compares", async () => {
    const a = await mlwatch(["train", "--name", "cli-model", "--rows", "3000"]);
    expect(a.stderr).toBe("");
    expect(a.stdout).toMatch(/registered cli-model v1 \(logistic, credit\(n=3000, seed=1, conceptShift=0\)\): held-out accuracy 9\d\.\d\d%/);
    const b = await mlwatch(["train", "--name", "cli-model", "--rows", "3000", "--model", "mlp", "--seed", "2"]);
    expect(b.stdout).toMatch(/registered cli-model v2 \(mlp/);
    expect((await mlwatch(["models", "list"])).stdout).toMatch(/cli-model\s+2\s+2/);
    const compare = await mlwatch(["models", "compare", "cli-model", "1", "2"]);
    expect(compare.stdout).toMatch(/accuracy\s+0\.9\d+\s+0\.9\d+/);
    const info = await mlwatch(["store", "info"]);
    expect(info.stdout).toMatch(/store: embedded/);
    expect(info.stdout).toMatch(/model_versions\s+2/);
  });

  it("answers each mistake with one line and a non-zero exit, registering nothing", async () => {
    const csv = path.join(dir, "nolabel.csv");
    fs.writeFileSync(csv, "a,b\n1,x\n2,y\n");
    const cases: [string[], RegExp, number][] = [
      [["train"], /--name is required/, 2],
      [["train", "--name", "x", "--model", "forest"], /--model must be logistic or mlp, not 'forest'/, 2],
      [["train", "--name", "x", "--csv", csv, "--label", "target"], new RegExp(`${csv}.*no label column 'target'`), 1],
      [["models", "show", "cli-model", "7"], /unknown version '7' of model 'cli-model'/, 1],
      [["models", "show", "ghost"], /unknown model 'ghost'/, 2],
      [["nonsense"], /unknown command 'nonsense'/, 2],
      [["train", "--name", "x", "--bogus"], /Unknown option '--bogus'/, 2],
    ];
    for (const [args, message, code] of cases) {
      const r = await mlwatch(args);
      expect(r.code, args.join(" ")).toBe(code);
      expect(r.stderr.trim().split("\n")[0]).toMatch(message);
    }
    const unreachable = await mlwatch(["store", "info"], { CLICKHOUSE_URL: "http://127.0.0.1:9", MLWATCH_QUERY_TIMEOUT_S: "2" });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^mlwatch store: cannot reach ClickHouse at http:\/\/127.0.0.1:9 \(CLICKHOUSE_URL\)/m);
    const badEnv = await mlwatch(["store", "info"], { MLWATCH_LOG_FEATURES: "everything" });
    expect(badEnv.code).toBe(2); // configuration, like usage, is the caller's to fix
    expect(badEnv.stderr).toMatch(/MLWATCH_LOG_FEATURES/);
    expect((await mlwatch(["models", "list"])).stdout).not.toMatch(/^x\s/m);
  });

  it("serves the MCP tools over Streamable HTTP on their own with mcp --http, and stops on SIGTERM", async () => {
    const child = spawn("node", ["bin/mlwatch.js", "mcp", "--http"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, MLWATCH_DATA_DIR: dir, MLWATCH_PORT: "0" },
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr.on("data", () => {
          const m = /mlwatch MCP endpoint at (\S+)/.exec(stderr);
          if (m) resolve(m[1]!);
        });
        void exited.then(() => reject(new Error(`mcp --http exited early:\n${stderr}`)));
      });
      expect(new URL(url).hostname).toBe("127.0.0.1"); // no token configured: loopback only
      const client = await connectMcpClient(url);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(["get_model_accuracy", "detect_data_drift", "query_inference_logs"]));
      await client.close();
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  }, 60_000);
});
