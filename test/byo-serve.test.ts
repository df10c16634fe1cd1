import fs from "node:fs";
import path from "node:path";
import type { Client } from "@modelcontextprotocol/client";
import type { CallToolResult } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InferenceService } from "../inference/service.ts";
import { registerMcpHttp } from "../mcp-server/transports/http.ts";
import { importModel } from "../models/import/import.ts";
import type { Row } from "../models/schema.ts";
import { requestJson } from "./helpers/http.ts";
import { connectMcpClient } from "./helpers/mcp-stack.ts";
import { churnData, churnLogit, lightgbmTrees, pytorchModel, sklearnLogistic, sklearnPipeline, writeCsv } from "./helpers/onnx-conventions.ts";
import { startService } from "./helpers/service.ts";
import { LOOPBACK, tempStore, type TempStore } from "./helpers/temp-store.ts";

const TOKEN = "byo-admin-token-0123456789";
let t: TempStore;
let svc: InferenceService;
let mcp: Client;

const call = (route: string, body?: unknown) => requestJson(svc.url + route, { body, headers: { authorization: `Bearer ${TOKEN}` } });

const admin = (model: string, action: string, body: Record<string, unknown>) => call(`/v1/admin/models/${model}/${action}`, { actor: "test", reason: "byo test", ...body });

async function predict(model: string, rows: readonly Row[]) {
  const res = await call(`/v1/models/${model}/predict`, { instances: rows });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return res.json as { version: string; predictions: { request_id: string; predicted: string; probabilities: number[] }[] };
}

async function tool(name: string, args: Record<string, unknown>) {
  const r = (await mcp.callTool({ name, arguments: args })) as CallToolResult;
  expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
  return r.structuredContent as Record<string, any>;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
/** The skl2onnx LogisticRegression and tree graphs take the numeric features only. */
const withoutPlan = (rows: readonly Row[]) => rows.map(({ plan: _plan, ...numeric }) => numeric);

beforeAll(async () => {
  t = await tempStore({ ...LOOPBACK, MLWATCH_ADMIN_TOKEN: TOKEN, MLWATCH_LOG_FLUSH_MS: "50", MLWATCH_STATE_POLL_MS: "100" });
  const dir = fs.mkdtempSync(path.join(t.dir, "byo-"));
  const reference = path.join(dir, "reference.csv");
  writeCsv(reference, churnData(1500, 1));
  const schema = (name: string, value: unknown) => (fs.writeFileSync(path.join(dir, name), JSON.stringify(value)), path.join(dir, name));
  const numeric = [{ name: "tenure", type: "numeric" }, { name: "charges", type: "numeric" }, { name: "calls", type: "numeric" }];
  const torchSchema = schema("torch.json", { features: [...numeric, { name: "plan", type: "categorical", categories: ["basic", "plus", "pro"] }], classes: ["no", "yes"] });
  const numericSchema = schema("numeric.json", { features: numeric, classes: ["no", "yes"] });
  const imports: [string, Uint8Array, string | undefined, "logits" | undefined][] = [
    ["churn", pytorchModel("softmax"), torchSchema, undefined],
    ["churn", sklearnPipeline(), undefined, undefined],
    ["churn-logit", pytorchModel("single-logit"), torchSchema, "logits"],
    ["churn-skl", sklearnLogistic("string", true), numericSchema, undefined],
    ["churn-trees", lightgbmTrees(), numericSchema, undefined],
  ];
  for (const [i, [model, bytes, schemaFile, outputs]] of imports.entries()) {
    const file = path.join(dir, `${i}.onnx`);
    fs.writeFileSync(file, bytes);
    await importModel(t.store, t.config.modelDir, { model, file, schemaFile, reference, label: "churned", outputs });
  }
  svc = await startService(t, (app) =>
    registerMcpHttp(app, { deps: { store: t.store, config: t.config, adminToken: TOKEN, actionsEnabled: false }, mcpToken: undefined, approverToken: undefined, allowedOrigins: [] }),
  );
  for (const model of ["churn", "churn-logit", "churn-skl", "churn-trees"]) expect((await admin(model, "deploy", { version: "1", role: "primary" })).status).toBe(200);
  mcp = await connectMcpClient(`${svc.url}/mcp`);
}, 60_000);

afterAll(async () => {
  await mcp?.close();
  await svc?.close();
  await t?.cleanup();
});

describe("imported models serve like native ones", () => {
  const rows = churnData(20, 7).rows;

  it("scores a PyTorch graph and a single-logit graph with the exporter's own probabilities", async () => {
    for (const model of ["churn", "churn-logit"]) {
      const r = await predict(model, rows);
      r.predictions.forEach((p, i) => {
        const yes = sigmoid(churnLogit(rows[i]!));
        expect(p.probabilities[1]).toBeCloseTo(yes, 4);
        expect(p.predicted).toBe(yes > 0.5 ? "yes" : "no");
      });
    }
  });

  it("scores ZipMap graphs (skl2onnx, LightGBM) through their rewritten probability tensors", async () => {
    for (const model of ["churn-skl", "churn-trees"]) {
      const r = await predict(model, withoutPlan(rows));
      expect(r.predictions).toHaveLength(rows.length);
      for (const p of r.predictions) {
        expect(p.probabilities[0]! + p.probabilities[1]!).toBeCloseTo(1, 5);
        expect(p.predicted).toBe(p.probabilities[1]! > p.probabilities[0]! ? "yes" : "no");
      }
    }
    // The tree ensemble's first split: tenure < 24 → 0.62, else 0.30 (averaged over three trees).
    const [short, long] = (await predict("churn-trees", [{ tenure: 10, charges: 50, calls: 1 }, { tenure: 40, charges: 50, calls: 1 }])).predictions;
    expect(short!.probabilities[1]! - long!.probabilities[1]!).toBeCloseTo(0.32 / 3, 5);
  });

  it("refuses bad input to an imported model with the field and the reason", async () => {
    const res = await call("/v1/models/churn-skl/predict", { features: { tenure: "long", charges: 1, calls: 1 } });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ field: "instances[0].tenure", reason: expect.stringContaining("must be a number") });
  });

  it("logs, and shows drift and accuracy in the MCP tools", async () => {
    // Tenure shifted by 40 months: the model's inputs drift, and its accuracy on the new rows is measured from feedback.
    const shifted = churnData(400, 11, 40);
    const answered = [];
    for (let i = 0; i < shifted.rows.length; i += 100) answered.push(...(await predict("churn", shifted.rows.slice(i, i + 100))).predictions);
    const feedback = await call("/v1/feedback", { labels: answered.map((p, i) => ({ request_id: p.request_id, label: shifted.labels[i] })) });
    expect(feedback.json).toMatchObject({ accepted: 400 });
    await svc.predictions.flush();
    await svc.labels.flush();

    const correct = answered.filter((p, i) => p.predicted === shifted.labels[i]).length;
    const accuracy = await tool("get_model_accuracy", { model: "churn" });
    expect(accuracy.labelled).toBe(400);
    expect(accuracy.accuracy).toBeCloseTo(correct / 400, 6);
    expect(accuracy.baselineAccuracy).toBeGreaterThan(0.65);

    const drift = await tool("detect_data_drift", { model: "churn" });
    const byName = Object.fromEntries(drift.features.map((f: { feature: string; drifted: boolean }) => [f.feature, f.drifted]));
    expect(byName).toMatchObject({ tenure: true, plan: false });

    const models = await tool("list_models", {});
    expect(JSON.stringify(models)).toContain("churn-trees");
  });

  it("estimates accuracy (CBPE) from the reference calibration while labels lag", async () => {
    await predict("churn-trees", withoutPlan(churnData(300, 12).rows));
    await svc.predictions.flush();
    const accuracy = await tool("get_model_accuracy", { model: "churn-trees" });
    expect(accuracy.labelled).toBe(0);
    expect(accuracy.estimated.accuracy).toBeGreaterThan(0.5);
    expect(accuracy.estimated.accuracy).toBeLessThan(1);
  });

  it("promotes and rolls back between two imported versions through the admin API", async () => {
    expect((await admin("churn", "deploy", { version: "2", role: "canary", percent: 50 })).status).toBe(200);
    expect((await admin("churn", "promote", {})).json.state).toMatchObject({ primary: "2", previous: "1" });
    // Version 2 is the per-feature pipeline: the plan reaches it as a string tensor, and it implements the same model.
    const promoted = await predict("churn", rows);
    expect(promoted.version).toBe("2");
    promoted.predictions.forEach((p, i) => expect(p.probabilities[1]).toBeCloseTo(sigmoid(churnLogit(rows[i]!)), 4));
    const back = await admin("churn", "rollback", { reason: "imported v2 regressed" });
    expect(back.json.state).toMatchObject({ primary: "1", previous: "2" });
    expect((await predict("churn", rows.slice(0, 1))).version).toBe("1");
    const history = await tool("get_deployment_history", { model: "churn" });
    expect(JSON.stringify(history)).toContain("imported v2 regressed");
  });
});
