import { Worker } from "node:worker_threads";
import type { TrainRequest, TrainResult } from "./train.ts";

/**
 * Trains each request in order on a worker thread. Training is seconds of pure CPU: on the event
 * loop it stalls everything the process serves (in `mlwatch serve` the predictions, the admin API
 * and MCP; in a simulation, under load, the rollout's own admin calls timed out behind it and the
 * verdict depended on the machine). One worker per call: its start-up (the TypeScript loader, the
 * model code) is paid once for all of a retrain's candidates.
 */
export function trainOffThread(requests: readonly TrainRequest[]): Promise<TrainResult[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./train-worker-boot.mjs", import.meta.url), { workerData: requests });
    let result: TrainResult[] | undefined;
    worker.once("message", (m: TrainResult[]) => (result = m));
    worker.once("error", reject);
    worker.once("exit", (code) => (result && code === 0 ? resolve(result) : reject(new Error(`the training worker exited with code ${code} before it answered`))));
  });
}
