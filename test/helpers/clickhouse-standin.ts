import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const main = path.join(root, "test/helpers/clickhouse-standin/main.ts");

/**
 * A ClickHouse HTTP stand-in (test/helpers/clickhouse-standin/) as a child process that owns one
 * chDB data directory: what `CLICKHOUSE_URL` points at in server-mode tests.
 */
export interface StandIn {
  /** http://127.0.0.1:<port>, for CLICKHOUSE_URL. */
  url: string;
  port: number;
  dir: string;
  output(): string;
  /** Sends the signal and resolves when the process has exited; the data directory stays. */
  stop(signal: NodeJS.Signals): Promise<void>;
}

export interface StandInOptions {
  /** The data directory; a fresh temporary one when absent. A restart passes the old one. */
  dir?: string;
  /** 0 (any free port) unless a restart must come back where the clients look. */
  port?: number;
  password?: string;
}

export async function startStandIn(o: StandInOptions = {}, timeoutMs = 60_000): Promise<StandIn> {
  const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-standin-"));
  const args = ["--import", "tsx", main, "--data", dir, "--port", String(o.port ?? 0), "--password", o.password ?? ""];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(output);
    if (m) {
      return {
        url: m[1]!,
        port: Number(m[2]),
        dir,
        output: () => output,
        async stop(signal) {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          await exited;
        },
      };
    }
    if (gone || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the ClickHouse stand-in did not start (${gone ? `exited ${child.exitCode ?? child.signalCode}` : "timed out"}):\n${output.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
