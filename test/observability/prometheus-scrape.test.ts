import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { startInferenceService, type InferenceService } from "../../inference/service.ts";
import { generateCredit } from "../../models/datasets/credit.ts";
import type { ModelVersion } from "../../models/registry.ts";
import { eventually } from "../helpers/eventually.ts";
import { registerTrained } from "../helpers/models.ts";
import { tempStore, type TempStore } from "../helpers/temp-store.ts";
import { debianTool } from "./debian-tool.ts";
import { freePort, startProcess, type LocalProcess } from "./local-process.ts";

// A real Prometheus (Debian's binary) scrapes a real inference service on loopback every second and
// evaluates deploy/prometheus/rules/mlwatch-recording.yml over the real series; then every
// Prometheus query of the dashboards runs against it.

const ROOT = path.resolve(import.meta.dirname, "../..");

let t: TempStore;
let svc: InferenceService;
let v1: ModelVersion;
let prometheus: LocalProcess;
let prometheusUrl: string;
let workDir: string;
let sent = 0;

async function post(route: string, body: unknown): Promise<any> {
  const res = await fetch(svc.url + route, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`${route} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

/** Twenty predictions and their labels. */
async function traffic(): Promise<void> {
  const examples = generateCredit(20, 100 + sent++).examples;
  const res = await post("/v1/models/credit/predict", { instances: examples.map((e) => e.row) });
  await post("/v1/feedback", { labels: res.predictions.map((p: { request_id: string }, i: number) => ({ request_id: p.request_id, label: v1.schema.classes[examples[i]!.label]! })) });
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(expr: string): Promise<{ status: string; error?: string; data?: { result: Sample[] } }> {
  const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await res.json()) as { status: string; error?: string; data?: { result: Sample[] } };
}

/** Keeps traffic flowing while Prometheus scrapes, until the expression has a series for credit v1. */
async function seriesOf(expr: string): Promise<Sample> {
  return eventually(
    async () => {
      await traffic();
      const r = await query(expr);
      const sample = r.data?.result.find((s) => s.metric.model === "credit" && s.metric.version === v1.version);
      if (!sample || !Number.isFinite(Number(sample.value[1]))) throw new Error(`${expr}: no finite series yet (${JSON.stringify(r)}); prometheus said: ${prometheus.output().slice(-2000)}`);
      return sample;
    },
    30_000,
    250,
  );
}

beforeAll(async () => {
  const binary = debianTool("prometheus", "prometheus");
  t = await tempStore({ MLWATCH_PORT: "0", MLWATCH_HOST: "127.0.0.1", MLWATCH_LOG_FLUSH_MS: "50" });
  v1 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1, rows: 2000 });
  svc = await startInferenceService({ config: t.config, store: t.store, logger: pino({ level: "silent" }) });
  await post("/v1/admin/models/credit/deploy", { actor: "test", reason: "scrape test", version: v1.version, role: "primary" });
  await traffic();

  workDir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-prometheus-"));
  const config = {
    global: { scrape_interval: "1s", evaluation_interval: "1s" },
    rule_files: [path.join(ROOT, "deploy/prometheus/rules/mlwatch-recording.yml")],
    scrape_configs: [{ job_name: "mlwatch", static_configs: [{ targets: [new URL(svc.url).host] }] }],
  };
  fs.writeFileSync(path.join(workDir, "prometheus.yml"), stringify(config));
  const port = await freePort();
  prometheusUrl = `http://127.0.0.1:${port}`;
  prometheus = startProcess(binary, [
    `--config.file=${path.join(workDir, "prometheus.yml")}`,
    `--storage.tsdb.path=${path.join(workDir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ]);
  await eventually(async () => expect((await fetch(`${prometheusUrl}/-/ready`)).status).toBe(200), 20_000, 100);
}, 120_000);

afterAll(async () => {
  await prometheus?.stop();
  await svc?.close();
  await t?.cleanup();
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

describe("Prometheus scraping the inference service", () => {
  it("records p99 latency, the failure ratio and accuracy per model and version from the real series", async () => {
    const p99 = await seriesOf("model_version:model_inference_latency_ms:p99_5m");
    expect(Number(p99.value[1])).toBeGreaterThan(0);
    // No failure has happened, so the failures series does not exist: the ratio must still be 0, not absent.
    const errors = await seriesOf("model_version:model_prediction_errors:ratio_rate5m");
    expect(Number(errors.value[1])).toBe(0);
    const accuracy = await seriesOf("model_version:model_accuracy:ratio_1h");
    expect(Number(accuracy.value[1])).toBeGreaterThan(0.5);
    expect(Number(accuracy.value[1])).toBeLessThanOrEqual(1);
  }, 60_000);

  it("every Prometheus query of the dashboards is valid against the real server", async () => {
    const dir = path.join(ROOT, "deploy/grafana/dashboards");
    const exprs = fs
      .readdirSync(dir)
      .flatMap((f) => (JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as { panels: { targets?: { expr?: string }[] }[] }).panels)
      .flatMap((p) => (p.targets ?? []).map((x) => x.expr).filter((e): e is string => !!e));
    expect(exprs.length).toBeGreaterThan(5);
    for (const expr of exprs) {
      const r = await query(expr.replaceAll("$model", "credit").replaceAll("$__rate_interval", "1m"));
      expect(r.status, `${expr}: ${r.error}`).toBe("success");
    }
    const rates = await query('sum by (version, variant) (rate(model_predictions_total{model="credit"}[1m]))');
    expect(rates.data!.result).toContainEqual(expect.objectContaining({ metric: { version: v1.version, variant: "primary" } }));
  });
});
