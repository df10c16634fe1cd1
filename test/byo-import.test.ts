import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importModel, type ImportRequest } from "../models/import/import.ts";
import { readOnnx, summarizeGraph } from "../models/import/inspect.ts";
import { inspectModelFile } from "../models/import/inspect-report.ts";
import { getBaseline, listModels, loadArtifact, sha256 } from "../models/registry.ts";
import { churnData, lightgbmTrees, pytorchModel, sklearnLogistic, sklearnPipeline, writeCsv } from "./helpers/onnx-conventions.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

let t: TempStore;
let dir: string;
const file = (name: string) => path.join(dir, name);

const numeric = [
  { name: "tenure", type: "numeric" },
  { name: "charges", type: "numeric" },
  { name: "calls", type: "numeric" },
];
const plan = { name: "plan", type: "categorical", categories: ["basic", "plus", "pro"] };

function writeJson(name: string, value: unknown): string {
  fs.writeFileSync(file(name), JSON.stringify(value));
  return file(name);
}

function request(model: string, onnx: string, extra: Partial<ImportRequest> = {}): ImportRequest {
  return { model, file: file(onnx), reference: file("reference.csv"), label: "churned", ...extra };
}

beforeAll(async () => {
  t = await tempStore();
  dir = fs.mkdtempSync(path.join(t.dir, "byo-"));
  writeCsv(file("reference.csv"), churnData(1500, 1));
  const models: Record<string, Uint8Array> = {
    "torch.onnx": pytorchModel("softmax"),
    "torch-logits.onnx": pytorchModel("logits"),
    "torch-single.onnx": pytorchModel("single-logit"),
    "torch-future.onnx": pytorchModel("softmax", 99),
    "skl.onnx": sklearnLogistic("int", true),
    "skl-strings.onnx": sklearnLogistic("string", true),
    "skl-nozipmap.onnx": sklearnLogistic("int", false),
    "pipeline.onnx": sklearnPipeline(),
    "trees.onnx": lightgbmTrees(),
  };
  for (const [name, bytes] of Object.entries(models)) fs.writeFileSync(file(name), bytes);
  writeJson("torch.schema.json", { features: [...numeric, plan], classes: ["no", "yes"], inputs: { input: ["tenure", "charges", "calls", "plan"] } });
  writeJson("numeric.schema.json", { features: numeric, classes: ["no", "yes"] });
  writeJson("numeric-strings.schema.json", { features: numeric });
}, 60_000);

afterAll(async () => {
  await t?.cleanup();
});

describe("each exporter convention imports", () => {
  // The reference labels come from the churn model itself, which every graph implements (the
  // numeric-only ones without the plan): all of them must beat the 50% of guessing by a margin.
  const cases: [string, string, Partial<ImportRequest>, string | null][] = [
    ["pytorch softmax", "torch.onnx", { schemaFile: "torch.schema.json" }, null],
    ["pytorch logits", "torch-logits.onnx", { schemaFile: "torch.schema.json", outputs: "logits" }, null],
    ["pytorch single logit", "torch-single.onnx", { schemaFile: "torch.schema.json", outputs: "logits" }, null],
    ["skl2onnx ZipMap, int labels", "skl.onnx", { schemaFile: "numeric.schema.json" }, "output_probability"],
    ["skl2onnx ZipMap, string labels", "skl-strings.onnx", { schemaFile: "numeric-strings.schema.json" }, "output_probability"],
    ["skl2onnx zipmap=False", "skl-nozipmap.onnx", { schemaFile: "numeric.schema.json" }, null],
    ["skl2onnx per-feature pipeline, no schema file", "pipeline.onnx", {}, "output_probability"],
    ["onnxmltools tree ensemble", "trees.onnx", { schemaFile: "numeric.schema.json" }, "probabilities"],
  ];

  it.each(cases)("%s", async (_, onnx, extra, zipmapOutput) => {
    const model = onnx.replace(".onnx", "");
    const schemaFile = extra.schemaFile ? file(extra.schemaFile) : undefined;
    const r = await importModel(t.store, t.config.modelDir, request(model, onnx, { ...extra, schemaFile }));
    const v = r.version;
    expect(v).toMatchObject({ model, version: "1", kind: "imported", status: "staging" });
    expect(v.schema.classes).toEqual(["no", "yes"]);
    expect(v.schema.io?.inputs.length).toBeGreaterThan(0);
    expect(v.metrics["accuracy"]).toBeGreaterThan(0.65);
    expect(v.metrics["testRows"]).toBe(1500);

    const original = fs.readFileSync(file(onnx));
    const source = (v.trainingData as { source: { sha256: string; rewrites: string[] } }).source;
    expect(source.sha256).toBe(sha256(original));
    const served = summarizeGraph(readOnnx(loadArtifact(v), v.artifact));
    if (zipmapOutput) {
      // The artifact is the rewritten graph; the exporter's file is only remembered by its hash.
      expect(v.sha256).not.toBe(source.sha256);
      expect(source.rewrites).toEqual([expect.stringContaining(`ZipMap output '${zipmapOutput}'`)]);
      expect(served.outputs.find((o) => o.name === zipmapOutput)).toMatchObject({ type: "tensor", dtype: "float32", shape: ["N", 2] });
      expect(served.ops.map((o) => o.op)).not.toContain("ai.onnx.ml:ZipMap");
    } else {
      expect(v.sha256).toBe(source.sha256);
      expect(source.rewrites).toEqual([]);
    }

    const baseline = await getBaseline(t.store, model, "1");
    expect(baseline.size).toBe(1500);
    expect(baseline.features.map((f) => f.name)).toEqual(v.schema.features.map((f) => f.name));
    expect(baseline.calibration.confidence).toHaveLength(1500);
    expect(baseline.labelCounts.reduce((a, b) => a + b, 0)).toBe(1500);
  });

  it("infers the whole schema of a per-feature pipeline from its graph", async () => {
    const report = await inspectModelFile(file("pipeline.onnx"));
    expect(report).toContain("plan: string [?, 1]");
    expect(report).toContain("features: tenure (numeric), charges (numeric), calls (numeric), plan (categorical: basic, plus, pro)");
    expect(report).toContain("classes: no, yes");
    expect(report).toMatch(/output_probability: ZipMap seq\(map\(string, float32\)\) \(rewritten at import/);
  });

  it("imports without labels: a drift baseline but no reference accuracy", async () => {
    const r = await importModel(t.store, t.config.modelDir, request("unlabelled", "skl-nozipmap.onnx", { schemaFile: file("numeric.schema.json"), label: undefined }));
    expect(r.version.metrics["accuracy"]).toBeUndefined();
    const baseline = await getBaseline(t.store, "unlabelled", "1");
    expect(baseline.predictionCounts.reduce((a, b) => a + b, 0)).toBe(1500);
    expect(baseline.labelCounts.every((n) => n === 0)).toBe(true);
    expect(baseline.calibration.confidence).toEqual([]);
  });
});

describe("checks at import: one line, nothing registered", () => {
  const bad = (name: string, content: string) => {
    fs.writeFileSync(file(name), content);
    return name;
  };

  it.each([
    ["an unreadable file", () => request("x", "missing.onnx"), /cannot read .*missing\.onnx: ENOENT/],
    ["a file that is not ONNX", () => request("x", bad("notes.onnx", "hello, this is not a model")), /notes\.onnx: not an ONNX model/],
    ["an opset onnxruntime cannot run", () => request("x", "torch-future.onnx", { schemaFile: file("torch.schema.json") }), /cannot run this model: opset 99 of domain ai\.onnx is newer than it supports/],
    ["a bad model name", () => request("Bad Name", "skl.onnx"), /--name 'Bad Name'/],
    ["a schema file that is not valid", () => request("x", "skl.onnx", { schemaFile: writeJson("bad.schema.json", { features: [{ name: "tenure", type: "number" }] }) }), /bad\.schema\.json: features\.0\.type: /],
    ["a schema input the graph lacks", () => request("x", "skl.onnx", { schemaFile: writeJson("s1.json", { features: numeric, inputs: { X: ["tenure", "charges", "calls"] } }) }), /schema input 'X' is not an input of the graph \(inputs: float_input\)/],
    ["a column count that does not fit", () => request("x", "skl.onnx", { schemaFile: writeJson("s2.json", { features: numeric.slice(0, 2) }) }), /input 'float_input' takes 3 columns but the schema's features give it 2/],
    ["a class count the classifier does not have", () => request("x", "skl.onnx", { schemaFile: writeJson("s3.json", { features: numeric, classes: ["a", "b", "c"] }) }), /schema has 3 classes \(a, b, c\) but the graph's classifier knows 2 \(0, 1\)/],
    ["a numeric feature on a string input", () => request("x", "pipeline.onnx", { schemaFile: writeJson("s4.json", { features: [...numeric.slice(0, 2), { name: "calls", type: "numeric" }, { name: "plan", type: "numeric" }] }) }), /feature 'plan' is numeric but input 'plan' takes strings/],
    ["logits imported as probabilities", () => request("x", "torch-logits.onnx", { schemaFile: file("torch.schema.json") }), /dry run: row 1 of .*reference\.csv scores \[.*\] from output 'output', not probabilities; .*--outputs logits/],
    ["a reference missing a schema column", () => request("x", "skl.onnx", { schemaFile: writeJson("s5.json", { features: [numeric[0], numeric[1], { name: "age", type: "numeric" }] }) }), /reference\.csv: no column 'age'/],
    ["an unparseable reference value", () => request("x", "skl.onnx", { schemaFile: file("numeric.schema.json"), reference: file(bad("bad.csv", "tenure,charges,calls,plan,churned\n1,2,3,basic,no\n4,lots,6,pro,yes\n")) }), /bad\.csv line 3, column 'charges': 'lots' is not a number/],
    ["a label the model does not know", () => request("x", "skl.onnx", { schemaFile: file("numeric.schema.json"), reference: file(bad("labels.csv", "tenure,charges,calls,plan,churned\n1,2,3,basic,no\n4,5,6,pro,maybe\n")) }), /labels\.csv line 3, column 'churned': class 'maybe' is not one the model knows \(no, yes\)/],
  ] as const)("refuses %s", async (_, req, message) => {
    const before = await listModels(t.store);
    const err = await importModel(t.store, t.config.modelDir, req()).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(message);
    expect(err?.message).not.toContain("\n");
    expect(await listModels(t.store)).toEqual(before);
    expect(fs.existsSync(path.join(t.config.modelDir, "x"))).toBe(false);
  });
});
