/**
 * Strict arguments: every command refuses unknown flags and extra arguments with one line, exit 2
 * and the nearest known name; `serve --port/--host` listen where they say; `--version` prints the
 * package's version. Each call is the real command in its own process.
 */
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-args-"));
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

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("strict arguments", () => {
  it("refuses unknown flags and extra arguments of every command with one line, exit 2 and a suggestion", async () => {
    const cases: [string[], RegExp][] = [
      [["serve", "--prot", "9000"], /^mlwatch serve: Unknown option '--prot' \(did you mean --port\?\)$/],
      [["serve", "port", "9000"], /^mlwatch serve: unexpected argument 'port' \(did you mean --port\?\)$/],
      [["serve", "--verbose"], /^mlwatch serve: Unknown option '--verbose' \(options: --port, --host\)$/],
      [["store", "info", "--all"], /^mlwatch store: Unknown option '--all' \(this command takes no options\)$/],
      [["store", "migrate", "now"], /^mlwatch store: unexpected argument 'now'$/],
      [["store", "infos"], /^mlwatch store: unknown subcommand 'infos' \(did you mean info\?\)$/],
      [["models", "list", "--json"], /^mlwatch models: Unknown option '--json' \(this command takes no options\)$/],
      [["models", "list", "extra"], /^mlwatch models: unexpected argument 'extra'$/],
      [["models", "lsit"], /^mlwatch models: unknown subcommand 'lsit' \(did you mean list\?\)$/],
      [["models", "show", "a", "1", "2"], /^mlwatch models: models show needs a model name and at most a version$/],
      [["models", "compare", "a", "1", "2", "3"], /^mlwatch models: models compare needs/],
      [["train", "--name", "x", "--row", "10"], /^mlwatch train: Unknown option '--row' \(did you mean --rows\?\)$/],
      [["simulate", "--scael", "0.1"], /^mlwatch simulate: Unknown option '--scael' \(did you mean --scale\?\)$/],
      [["simulate", "extra.json"], /^mlwatch simulate: unexpected argument 'extra.json'$/],
      [["agent", "--onse"], /^mlwatch agent: Unknown option '--onse' \(did you mean --once\?\)$/],
      [["mcp", "--htp"], /^mlwatch mcp: Unknown option '--htp' \(did you mean --http\?\)$/],
      [["demo", "--request", "5"], /^mlwatch demo: Unknown option '--request' \(did you mean --requests\?\)$/],
      [["approve", "--lst"], /^mlwatch approve: Unknown option '--lst' \(did you mean --list\?\)$/],
      [["chat", "--ass", "me"], /^mlwatch chat: Unknown option '--ass' \(did you mean --as\?\)$/],
      [["modles", "list"], /^mlwatch: unknown command 'modles' \(did you mean models\?\); mlwatch --help lists the commands$/],
      [["--verison"], /^mlwatch: unknown option '--verison' \(did you mean --version\?\)/],
      [["serve", "--port", "70000"], /^mlwatch serve: --port must be a whole number in 0\.\.65535, not '70000'$/],
    ];
    // Two at a time: each is a process start, and the machine has two cores.
    for (let i = 0; i < cases.length; i += 2) {
      await Promise.all(
        cases.slice(i, i + 2).map(async ([args, message]) => {
          const r = await mlwatch(args);
          expect(r.code, args.join(" ")).toBe(2);
          expect(r.stderr.trim().split("\n"), args.join(" ")).toEqual([expect.stringMatching(message)]);
          expect(r.stdout, args.join(" ")).toBe("");
        }),
      );
    }
  }, 120_000);

  it("prints the package version with --version", async () => {
    const pkg = JSON.parse(fs.readFileSync("package.json", "utf8")) as { version: string };
    const r = await mlwatch(["--version"]);
    expect(r).toMatchObject({ code: 0, stdout: `mlwatch ${pkg.version}\n`, stderr: "" });
  });

  it("serve listens on --host:--port, over MLWATCH_PORT", async () => {
    const port = await freePort();
    const child = spawn("node", ["bin/mlwatch.js", "serve", "--port", String(port), "--host", "127.0.0.1"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, MLWATCH_DATA_DIR: dir, MLWATCH_PORT: "1" },
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      for (let i = 0; i < 600 && !/mlwatch serving on/.test(output) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
      expect(output).toContain(`mlwatch serving on http://127.0.0.1:${port}`);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });
});
