import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface LoadSpec {
  url: string;
  rows: Record<string, unknown>[];
  batch: number;
  concurrency: number;
  seconds: number;
  /** Every row new (a 0% cache hit rate) rather than the same rows round-robin. */
  fresh: boolean;
}

export interface LoadFigures {
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
}

/** Runs bench/lib/closed-loop-client.ts in a process of its own and returns what it measured. */
export async function predictLoad(spec: LoadSpec): Promise<LoadFigures> {
  const script = path.join(import.meta.dirname, "closed-loop-client.ts");
  const { stdout } = await run(process.execPath, ["--import", "tsx", script, JSON.stringify(spec)], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as LoadFigures;
}
