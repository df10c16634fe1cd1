import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { churnData, sklearnLogistic, writeCsv } from "./helpers/onnx-conventions.ts";

const run = promisify(execFile);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-byo-cli-"));
const file = (name: string) => path.join(dir, name);

/** The real command in its own process, so its embedded store is its own. */
async function mlwatch(args: string[]) {
  try {
    const { stdout, stderr } = await run("node", ["bin/mlwatch.js", ...args], { env: { ...process.env, MLWATCH_DATA_DIR: path.join(dir, "data") } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(() => {
  fs.writeFileSync(file("churn.onnx"), sklearnLogistic("int", true));
  writeCsv(file("reference.csv"), churnData(500, 1));
  // The README's example schema, as a user would write it for this skl2onnx export.
  fs.copyFileSync("examples/byo/churn.schema.json", file("churn.schema.json"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("mlwatch models import / inspect", () => {
  it("inspects a graph: inputs, outputs, opsets, the ZipMap rewrite and what it would infer", async () => {
    const r = await mlwatch(["models", "inspect", file("churn.onnx")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/opsets: ai\.onnx 17, ai\.onnx\.ml 1/);
    expect(r.stdout).toMatch(/float_input: float32 \[\?, 3\]/);
    expect(r.stdout).toMatch(/output_probability: ZipMap seq\(map\(int64, float32\)\) \(rewritten at import/);
    expect(r.stdout).toMatch(/classes: 0, 1/);
    expect(r.stdout).toMatch(/features: needs the schema — input 'float_input'/);
  });

  it("imports with the example schema file and shows the version with its original sha256", async () => {
    const r = await mlwatch(["models", "import", file("churn.onnx"), "--name", "churn", "--schema", file("churn.schema.json"), "--reference", file("reference.csv"), "--label", "churned"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/rewrote: ZipMap output 'output_probability'/);
    expect(r.stdout).toMatch(/registered churn v1 \(imported .*churn\.onnx\): baseline from 500 reference rows, reference accuracy \d\d\.\d\d%/);
    const show = await mlwatch(["models", "show", "churn", "1"]);
    const version = JSON.parse(show.stdout);
    expect(version.schema.io).toMatchObject({ inputs: [{ name: "float_input", dtype: "float32", features: ["tenure", "charges", "calls"] }], outputs: { probabilities: "output_probability" } });
    expect(version.trainingData.source.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(version.trainingData.source.sha256).not.toBe(version.sha256);
  });

  it("answers a file that is not ONNX with one line and exit code 1", async () => {
    fs.writeFileSync(file("broken.onnx"), "not a model");
    const r = await mlwatch(["models", "import", file("broken.onnx"), "--name", "x", "--reference", file("reference.csv")]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^mlwatch models: .*broken\.onnx: not an ONNX model/)]);
  });
});
