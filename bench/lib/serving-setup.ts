import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { pino } from "pino";
import { loadConfig } from "../../config.ts";
import { generateCredit } from "../../models/datasets/credit.ts";
import { registerVersion } from "../../models/registry.ts";
import { trainModel } from "../../models/train.ts";
import { openStore, type Store } from "../../store/client.ts";
import { migrate } from "../../store/migrations.ts";
import { startInferenceService, type InferenceService } from "../../inference/service.ts";

const run = promisify(execFile);
/** The bench service's admin token: admin and job routes want it as a bearer token. */
export const ADMIN_TOKEN = "bench-admin-token-0123456789";

/** Load from autocannon in its own process: closed loop, or with `rate` a fixed total rate over all connections (-R is autocannon's overall rate). */
export async function autocannon(url: string, body: string, connections: number, duration: number, rate?: number) {
  const bin = path.resolve("node_modules/.bin/autocannon");
  const args = ["-j", "-c", String(connections), "-d", String(duration), "-m", "POST", "-H", "content-type=application/json", "-b", body, url];
  if (rate) args.push("-R", String(rate));
  const { stdout } = await run(bin, args, { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as {
    requests: { average: number };
    latency: { p50: number; p99: number; max: number };
    non2xx: number;
    errors: number;
  };
}

/** The real inference service on a fresh embedded store with two credit versions registered, the first deployed as primary. */
export async function benchService(dir: string, env: Record<string, string>): Promise<{ store: Store; svc: InferenceService; version: string; second: string }> {
  const config = loadConfig({ ...process.env, MLWATCH_DATA_DIR: dir, MLWATCH_PORT: "0", MLWATCH_HOST: "127.0.0.1", MLWATCH_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: "warn", ...env });
  const store = await openStore(config);
  await migrate(store);
  const register = async (seed: number) => {
    const t = trainModel({ dataset: generateCredit(10_000, seed), kind: "logistic", seed });
    return (await registerVersion(store, config.modelDir, { model: "credit", kind: "logistic", onnx: t.onnx, schema: t.schema, metrics: t.metrics, trainingData: t.trainingData, baseline: t.baseline })).version;
  };
  const version = await register(1);
  const second = await register(2);
  const svc = await startInferenceService({ config, store, logger: pino({ level: "warn" }) });
  await admin(svc, "deploy", { version, role: "primary" });
  return { store, svc, version, second };
}

export async function admin(svc: InferenceService, route: string, body: Record<string, unknown>) {
  const res = await fetch(`${svc.url}/v1/admin/models/credit/${route}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ actor: "bench", reason: "bench", ...body }),
  });
  if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
}

/** A predict body of `rows` credit rows: `features` for one, `instances` for more. */
export function predictBody(rows: number): string {
  const examples = generateCredit(rows, 7).examples.map((e) => e.row);
  return JSON.stringify(rows === 1 ? { features: examples[0] } : { instances: examples });
}
