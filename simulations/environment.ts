import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { loadConfig, type Config } from "../config.ts";
import { openStore, type Store } from "../store/client.ts";
import { migrate } from "../store/migrations.ts";
import { useTimeSource, useWallClock } from "../store/clock.ts";
import { startInferenceService, type InferenceService } from "../inference/service.ts";
import type { FastifyInstance } from "fastify";
import type { Registry } from "prom-client";

/** Tokens the simulation's roles use; the agent's can never approve, the approver's can. */
export const SIM_TOKENS = {
  admin: "sim-admin-token-0123456789",
  mcp: "sim-agent-token-0123456789",
  approver: "sim-approver-token-0123456789",
} as const;

/** The virtual clock every role in this process reads through store/clock.ts. */
export class VirtualClock {
  us: number;
  constructor(startUs: number) {
    this.us = startUs;
  }
  advanceSeconds(s: number): void {
    this.us += Math.round(s * 1e6);
  }
}

export interface SimulationEnvironment {
  config: Config;
  store: Store;
  service: InferenceService;
  clock: VirtualClock;
  dataDir: string;
  close(): Promise<void>;
}

const WEEK_US = 604_800 * 1e6;

/**
 * Where virtual time starts: the last week boundary since the epoch. Trend buckets are aligned to
 * the epoch and every bucket width divides a week, so each run cuts its traffic at the same points
 * and a seed gives the same verdicts whenever it runs (from the wall clock, a bucket edge moved
 * with the start time and flipped borderline change-point tests between runs).
 */
export function simulationStartUs(nowMs: number): number {
  return Math.floor((nowMs * 1000) / WEEK_US) * WEEK_US;
}

/**
 * All roles in one process, talking over their real protocols on loopback: one embedded store
 * (chdb allows one per process), the inference service with fault injection, and whatever else
 * `extend` mounts on the same server (the MCP endpoint, the agent's webhook).
 */
export async function startEnvironment(opts: { dataDir?: string; extend?: (app: FastifyInstance, env: { config: Config; store: Store; registry: Registry }) => Promise<void> | void } = {}): Promise<SimulationEnvironment> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-sim-"));
  const clock = new VirtualClock(simulationStartUs(Date.now()));
  useTimeSource(() => clock.us);
  const config = loadConfig({
    ...process.env,
    MLWATCH_DATA_DIR: dataDir,
    MLWATCH_HOST: "127.0.0.1",
    MLWATCH_PORT: "0",
    MLWATCH_ADMIN_TOKEN: SIM_TOKENS.admin,
    MLWATCH_FAULT_INJECTION: "1",
    // Virtual time throughout: a loaded machine must not turn into a latency regression, nor hide one.
    MLWATCH_LATENCY_CLOCK: "virtual",
    MLWATCH_LOG_FLUSH_MS: "200",
    MLWATCH_STATE_POLL_MS: "500",
    LOG_LEVEL: "warn",
  });
  const store = await openStore(config);
  await migrate(store);
  const service = await startInferenceService({
    config,
    store,
    logger: pino({ level: "warn" }),
    extend: opts.extend ? (app, registry) => opts.extend!(app, { config, store, registry }) : undefined,
  });
  return {
    config,
    store,
    service,
    clock,
    dataDir,
    async close() {
      await service.close();
      await store.close();
      useWallClock();
      // The engine may still be finishing a background merge in the directory: retry, and leave a temp dir behind rather than fail a finished run.
      if (!opts.dataDir) {
        try {
          fs.rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
        } catch {
          // a left-over directory under the OS temp dir is harmless
        }
      }
    },
  };
}
