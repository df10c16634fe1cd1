/**
 * Issue 16 item 9. The model-level serving metrics carry `environment` (MLWATCH_ENVIRONMENT, default
 * `dev`, validated like every variable); a request rejected for several bad features is one error,
 * not one per feature (it was 8 for 8 missing features); and `promtool check metrics` reads the
 * real /metrics output with no lint beyond the ones listed here with their reason.
 */
import { execFile, spawnSync } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../config.ts";
import type { InferenceService } from "../inference/service.ts";
import { createServingMetrics } from "../inference/metrics.ts";
import type { ModelVersion } from "../models/registry.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import { registerTrained } from "./helpers/models.ts";
import { metricValue } from "./helpers/prom-text.ts";
import { startService } from "./helpers/service.ts";
import { LOOPBACK, tempStore, type TempStore } from "./helpers/temp-store.ts";
import { debianTool } from "./observability/debian-tool.ts";

const ROOT = path.resolve(import.meta.dirname, "..");

let t: TempStore;
let svc: InferenceService;
let v1: ModelVersion;

/** The model-level metrics: every one must carry `environment`. */
const MODEL_LEVEL = [
  "model_predictions_total",
  "model_predictions_labelled_total",
  "model_predictions_correct_total",
  "model_inference_latency_ms",
  "model_prediction_confidence",
  "model_prediction_errors_total",
  "model_unknown_category_total",
  "model_deployment_changes_total",
];

async function post(route: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(svc.url + route, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

const metrics = async () => (await fetch(`${svc.url}/metrics`)).text();

beforeAll(async () => {
  t = await tempStore({ ...LOOPBACK, MLWATCH_ENVIRONMENT: "staging" });
  v1 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1, rows: 2000 });
  svc = await startService(t);
  // Through the admin route, so model_deployment_changes_total has a series too.
  expect((await post("/v1/admin/models/credit/deploy", { version: v1.version, role: "primary", actor: "test", reason: "setup" })).status).toBe(200);
});

afterAll(async () => {
  await svc?.close();
  await t?.cleanup();
});

describe("MLWATCH_ENVIRONMENT", () => {
  it("defaults to dev and refuses a value that is no short name, in one line naming the variable", () => {
    expect(loadConfig({}).environment).toBe("dev");
    expect(loadConfig({ MLWATCH_ENVIRONMENT: "prod-eu" }).environment).toBe("prod-eu");
    for (const bad of ["prod eu", "x".repeat(33), '"quoted"', "-leading"]) {
      expect(() => loadConfig({ MLWATCH_ENVIRONMENT: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ MLWATCH_ENVIRONMENT: bad })).toThrow(/^invalid configuration: MLWATCH_ENVIRONMENT: /);
    }
  });

  it("a bad value stops a command with exit 2 and one line", async () => {
    const r = await promisify(execFile)(process.execPath, [path.join(ROOT, "bin/mlwatch.js"), "serve"], {
      cwd: ROOT,
      env: { ...process.env, MLWATCH_ENVIRONMENT: "prod eu", MLWATCH_DATA_DIR: t.dir },
    }).then(
      () => ({ code: 0, stderr: "" }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/MLWATCH_ENVIRONMENT/);
  });

  it("labels every model-level metric, and only those", async () => {
    const registry = new Registry();
    const m = createServingMetrics(registry, "prod-eu");
    m.predictions.inc({ model: "a", version: "1", variant: "primary" });
    m.labelled.inc({ model: "a", version: "1" });
    m.correct.inc({ model: "a", version: "1" }, 2);
    m.latency.observe({ model: "a", version: "1", variant: "primary" }, 3);
    m.confidence.observe({ model: "a", version: "1" }, 0.9);
    m.errors.inc({ model: "a", version: "1", reason: "missing_feature" });
    m.unknownCategories.inc({ model: "a", feature: "f" });
    m.deployments.inc({ model: "a", action: "deploy" });
    m.feedback.inc({ outcome: "joined" });
    m.httpRequests.inc({ method: "GET", route: "/x", status: "200" });
    const text = await registry.metrics();
    for (const name of MODEL_LEVEL) {
      const lines = text.split("\n").filter((l) => l.startsWith(name) && !l.startsWith("#"));
      expect(lines.length, name).toBeGreaterThan(0);
      for (const line of lines) expect(line, name).toMatch(/environment="prod-eu"/);
    }
    expect(metricValue(text, "model_predictions_correct_total", { environment: "prod-eu", model: "a" })).toBe(2);
    for (const line of text.split("\n").filter((l) => /^(model_feedback_total|http_requests_total|process_|nodejs_)/.test(l))) {
      expect(line).not.toMatch(/environment=/);
    }
  });

  it("the running service labels its series with the configured environment", async () => {
    expect((await post("/v1/models/credit/predict", { features: generateCredit(1, 3).examples[0]!.row })).status).toBe(200);
    const text = await metrics();
    expect(metricValue(text, "model_predictions_total", { model: "credit", version: v1.version, environment: "staging" })).toBe(1);
    expect(text).not.toMatch(/^model_predictions_total\{(?![^}]*environment=)/m);
  });
});

describe("model_prediction_errors_total", () => {
  it("counts a request with 8 missing features once", async () => {
    const row = generateCredit(1, 4).examples[0]!.row;
    const names = Object.keys(row);
    expect(names.length).toBeGreaterThanOrEqual(8);
    const partial = Object.fromEntries(Object.entries(row).slice(0, names.length - 8));
    const before = metricValue(await metrics(), "model_prediction_errors_total", { model: "credit" });
    const res = await post("/v1/models/credit/predict", { features: partial });
    expect(res.status).toBe(400);
    // The answer still names every missing feature …
    expect(res.json.errors.filter((e: { code: string }) => e.code === "missing_feature")).toHaveLength(8);
    // … and the counter counts the request once.
    const text = await metrics();
    expect(metricValue(text, "model_prediction_errors_total", { model: "credit" }) - before).toBe(1);
    expect(metricValue(text, "model_prediction_errors_total", { model: "credit", version: v1.version, reason: "missing_feature", environment: "staging" })).toBe(1);
  });

  it("a batch of several bad rows is one request and one error", async () => {
    const rows = generateCredit(5, 5).examples.map((e) => ({ ...e.row, not_a_feature: 1 }));
    const before = metricValue(await metrics(), "model_prediction_errors_total", { model: "credit" });
    const res = await post("/v1/models/credit/predict", { instances: rows });
    expect(res.status).toBe(400);
    expect(res.json.errors.length).toBe(5);
    expect(metricValue(await metrics(), "model_prediction_errors_total", { model: "credit" }) - before).toBe(1);
  });
});

describe("promtool check metrics", () => {
  it("lints the real /metrics output clean, but for the listed exceptions", async () => {
    const promtool = debianTool("promtool", "prometheus");
    const text = await metrics();
    const r = spawnSync(promtool, ["check", "metrics"], { input: text, encoding: "utf8" });
    const output = `${r.stdout}${r.stderr}`;
    // Each remaining lint, with its reason; an entry no longer reported fails too, so the list stays true.
    const accepted: { lint: RegExp; reason: string }[] = [
      {
        lint: /^model_inference_latency_ms metric names should not contain abbreviated units$/,
        reason:
          "the seed's name, in milliseconds as its help says: the recording rules (model_version:model_inference_latency_ms:p99_5m), the 250 ms alert, the dashboard and the rules' unit tests are all written against it; renaming is a breaking change for every query",
      },
      ...["handles", "requests", "resources"].map((what) => ({
        lint: new RegExp(`^nodejs_active_${what}_total non-counter metrics should not have "_total" suffix$`),
        reason: "prom-client's default Node.js metric (collectDefaultMetrics), named by the library, not by us",
      })),
    ];
    const lines = output.split("\n").filter((l) => l.trim());
    expect(lines.filter((l) => !accepted.some((a) => a.lint.test(l))), output).toEqual([]);
    for (const a of accepted) expect(lines.some((l) => a.lint.test(l)), `stale exception ${a.lint}: ${a.reason}`).toBe(true);
    // promtool's exit code: 0 clean, 3 lint only; anything else is a parse error of the exposition.
    expect([0, 3], output).toContain(r.status);
  });
});
