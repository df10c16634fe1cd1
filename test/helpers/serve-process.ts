import { execFile, spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = path.join(root, "bin/mlwatch.js");

/**
 * `mlwatch serve` as a real child process. bin/mlwatch.js runs the command in its own process, so
 * the pid we hold is the server's: SIGKILL reaches the process that owns the store and the spool.
 */
export interface ServeProcess {
  url: string;
  pid: number;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Sends the signal and resolves when the process has exited. */
  stop(signal: NodeJS.Signals): Promise<void>;
}

export async function startServe(env: Record<string, string>, timeoutMs = 60_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, [bin, "serve"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, MLWATCH_PORT: "0", LOG_LEVEL: "info", ...env },
  });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await listeningUrl(child, () => output, exited, timeoutMs);
  return {
    url,
    pid: child.pid!,
    output: () => output,
    async stop(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

async function listeningUrl(child: ChildProcess, output: () => string, exited: Promise<void>, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    const m = /mlwatch serving on (http:\/\/[^\s]+)/.exec(output());
    if (m) return m[1]!;
    if (gone || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`mlwatch serve did not start (${gone ? `exited ${child.exitCode ?? child.signalCode}` : "timed out"}):\n${output().slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One CLI command in its own process (it opens the store, so no other process may hold the directory). */
export async function runCli(args: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, ...env } });
}

/** Whether any process of the group is left: a spawned CLI runs in a group of its own, so whatever it started dies with it. */
export function processGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
