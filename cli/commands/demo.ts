import { pino } from "pino";
import type { Command } from "../command.ts";
import { parse } from "../command.ts";
import { loadConfig } from "../../config.ts";
import { generateCredit } from "../../models/datasets/credit.ts";
import { registerVersion } from "../../models/registry.ts";
import { newVersionOf, trainModel } from "../../models/train.ts";
import { openStore, type Store } from "../../store/client.ts";
import { migrate } from "../../store/migrations.ts";
import { startInferenceService, type InferenceService } from "../../inference/service.ts";
import { pct } from "../../format.ts";

const usage = `usage: mlwatch demo [--requests N]

The smallest real end-to-end path: train a credit-risk model, export ONNX, register it, deploy it,
serve N requests through the real inference service on loopback, send their ground-truth labels
through /v1/feedback, and read accuracy, latency and the audit summary back from the log store.`;

export const demoCommand: Command = {
  name: "demo",
  summary: "train, serve, log and measure one model end to end (what npm start runs)",
  usage,
  async run(argv) {
    const { values } = parse(argv, { requests: { type: "string", default: "2000" } });
    const requests = Math.max(1, Number(values.requests) || 2000);
    const config = loadConfig({ ...process.env, MLWATCH_PORT: "0", MLWATCH_HOST: "127.0.0.1" });
    const store = await openStore(config);
    try {
      await migrate(store);
      await demo(config, store, requests);
    } finally {
      await store.close();
    }
  },
};

async function demo(config: ReturnType<typeof loadConfig>, store: Store, requests: number): Promise<void> {
  const step = (s: string) => console.log(`• ${s}`);
  step(`store: ${store.mode} ClickHouse, database ${store.database}${config.clickhouse.mode === "embedded" ? ` at ${config.clickhouse.path}` : ""}`);
  const dataset = generateCredit(20_000, 1);
  const trained = trainModel({ dataset, kind: "logistic", seed: 1 });
  const v = await registerVersion(store, config.modelDir, newVersionOf("credit-risk", "logistic", trained, dataset.examples, "demo"));
  step(`trained logistic regression on 20,000 synthetic credit applications: held-out accuracy ${pct(trained.metrics.accuracy, 2)}`);
  step(`registered credit-risk v${v.version} (ONNX, sha256 ${v.sha256.slice(0, 12)}…)`);

  const service = await startInferenceService({ config, store, logger: pino({ level: "warn" }) });
  try {
    await admin(service, "deploy", { version: v.version, role: "primary", actor: "demo", reason: "demo deployment" });
    step(`serving at ${service.url}; sending ${requests} requests in batches of 1–16 rows`);
    const traffic = generateCredit(requests, 2).examples;
    const answered = await sendTraffic(service, traffic.map((e) => e.row));
    const labels = answered.map((id, i) => ({ request_id: id, label: trained.schema.classes[traffic[i]!.label]! }));
    const fb = await post(service, "/v1/feedback", { labels });
    step(`sent ${labels.length} ground-truth labels later: ${(fb as { accepted: number }).accepted} joined`);
    await service.predictions.flush();
    await service.labels.flush();
    await report(store, service, v.version);
  } finally {
    await service.close();
  }
}

async function sendTraffic(service: InferenceService, rows: Record<string, unknown>[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < rows.length; ) {
    const size = 1 + (i % 16);
    const res = (await post(service, "/v1/models/credit-risk/predict", { instances: rows.slice(i, i + size) })) as { predictions: { request_id: string }[] };
    ids.push(...res.predictions.map((p) => p.request_id));
    i += size;
  }
  return ids;
}

async function report(store: Store, service: InferenceService, version: string): Promise<void> {
  const [acc] = await store.rows<{ n: number; correct: number }>(
    `SELECT count() AS n, countIf(p.predicted = l.label) AS correct
     FROM ${store.table("predictions")} AS p FINAL INNER JOIN ${store.table("labels")} AS l FINAL ON p.request_id = l.request_id
     WHERE p.model = 'credit-risk' AND p.version = {version:String} AND p.variant = 'primary'`,
    { version },
  );
  const summary = (await (await fetch(`${service.url}/v1/models/credit-risk/audit/summary?window_seconds=600`)).json()) as {
    total: number;
    errorRate: number;
    latencyMs: { p50: number; p95: number; p99: number };
    confidenceHistogram: number[];
  };
  console.log("");
  console.log("summary (read back from the log store)");
  console.log(`  predictions logged      ${summary.total}`);
  console.log(`  labelled / correct      ${acc?.n} / ${acc?.correct}  → live accuracy ${pct(Number(acc?.correct) / Number(acc?.n), 2)}`);
  console.log(`  error rate              ${pct(summary.errorRate, 2)}`);
  console.log(`  inference latency (ms)  p50 ${summary.latencyMs.p50.toFixed(3)}  p95 ${summary.latencyMs.p95.toFixed(3)}  p99 ${summary.latencyMs.p99.toFixed(3)}`);
  console.log(`  confidence histogram    ${summary.confidenceHistogram.join(" | ")}  (bins of 0.2)`);
}

async function admin(service: InferenceService, route: string, body: Record<string, unknown>) {
  return post(service, `/v1/admin/models/credit-risk/${route}`, body);
}

async function post(service: InferenceService, path: string, body: unknown): Promise<unknown> {
  const token = loadConfig().inference.adminToken;
  const res = await fetch(service.url + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

