import ort from "onnxruntime-node";
import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import { imputationFill } from "../models/baseline.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import { encodedWidth, encodeRows } from "../models/encode.ts";
import { predictProba } from "../models/predict.ts";
import type { Row } from "../models/schema.ts";
import { trainModel } from "../models/train.ts";

/** Fresh rows, some edited to hit the paths serving meets: unseen categories, missing and extreme numbers. */
function servingRows(): Row[] {
  const rows = generateCredit(1000, 77).examples.map((e) => ({ ...e.row }));
  rows[0] = { ...rows[0], employment: "student", income: null };
  rows[1] = { ...rows[1], region: "atlantis", loan_purpose: null };
  rows[2] = { ...rows[2], debt_ratio: null, age: null };
  rows[3] = { ...rows[3], income: 3_000_000, late_payments: 12 };
  return rows;
}

describe.each(["logistic", "mlp"] as const)("ONNX export of %s", (kind) => {
  const trained = trainModel({ dataset: generateCredit(4000, 3), kind, seed: 3, epochs: 5 });

  it("has the documented interface", () => {
    const model = onnxProto.onnx.ModelProto.decode(trained.onnx);
    expect(Number(model.irVersion)).toBe(8);
    expect(model.producerName).toBe("mlwatch");
    expect(model.opsetImport.map((o) => [o.domain, Number(o.version)])).toEqual([["", 13]]);
    expect(model.graph?.node?.map((n) => n.opType)).toEqual(kind === "logistic" ? ["Gemm", "Softmax"] : ["Gemm", "Relu", "Gemm", "Softmax"]);
  });

  it("matches the TypeScript model within 1e-5 on 1,000 rows", async () => {
    const rows = servingRows();
    const x = encodeRows(rows, trained.schema, imputationFill(trained.baseline.features, trained.schema));
    const expected = predictProba(trained.weights, x, rows.length);
    const session = await ort.InferenceSession.create(trained.onnx);
    expect(session.inputNames).toEqual(["input"]);
    expect(session.outputNames).toEqual(["probabilities"]);
    const out = await session.run({ input: new ort.Tensor("float32", x, [rows.length, encodedWidth(trained.schema)]) });
    const actual = out.probabilities!;
    expect(actual.dims).toEqual([rows.length, 2]);
    const data = actual.data as Float32Array;
    let maxDiff = 0;
    for (let i = 0; i < data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(data[i]! - expected[i]!));
    expect(maxDiff).toBeLessThan(1e-5);
    // Guards against a vacuous pass (e.g. both sides constant): the edited rows must differ from each other.
    expect(new Set(Array.from(expected.subarray(0, 8), (p) => p.toFixed(4))).size).toBeGreaterThan(2);
  });
});
