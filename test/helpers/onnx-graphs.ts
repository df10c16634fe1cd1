import onnxProto from "onnx-proto";
import { encodedWidth } from "../../models/encode.ts";
import { registerVersion, type ModelVersion } from "../../models/registry.ts";
import { makeDataset } from "../../models/datasets/index.ts";
import { trainModel } from "../../models/train.ts";
import type { Store } from "../../store/client.ts";

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** float32 [N, cols] with the batch dimension symbolic. */
const info = (name: string, cols: number) => ({ name, type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: "N" }, { dimValue: cols }] } } } });

function nativeLayout(name: string, width: number, classes: number, nodes: { opType: string; input: string[]; output: string[]; name: string }[]): Uint8Array {
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 13 }],
    producerName: "mlwatch-test",
    graph: {
      name,
      node: [{ opType: "MatMul", input: ["input", "W"], output: ["zeros"], name: "zeros" }, ...nodes],
      initializer: [{ name: "W", dims: [width, classes], dataType: FLOAT, floatData: new Array<number>(width * classes).fill(0) }],
      input: [info("input", width)],
      output: [info("probabilities", classes)],
    },
  });
  return onnx.ModelProto.encode(proto).finish();
}

/**
 * A graph with the native layout (input [N, width] → probabilities [N, C]) that answers NaN for
 * every row: MatMul by zeros, then 0 / 0. A real onnxruntime session produces the non-finite output.
 */
export function nanOnnx(width: number, classes: number): Uint8Array {
  return nativeLayout("nan", width, classes, [{ opType: "Div", input: ["zeros", "zeros"], output: ["probabilities"], name: "probabilities" }]);
}

/** Same layout, answering a softmax of uniform draws: valid probabilities, different on every call. */
export function randomOnnx(width: number, classes: number): Uint8Array {
  return nativeLayout("random", width, classes, [
    { opType: "RandomUniformLike", input: ["zeros"], output: ["draws"], name: "draws" },
    { opType: "Softmax", input: ["draws"], output: ["probabilities"], name: "probabilities" },
  ]);
}

/** A version of the credit model whose session loads and runs, and answers NaN: a model that cannot answer. */
export function registerNanVersion(store: Store, modelDir: string, model = "credit"): Promise<ModelVersion> {
  return registerGraph(store, modelDir, model, nanOnnx);
}

/** A version of the credit model that draws its answers at random: not deterministic, so never cached. */
export function registerRandomVersion(store: Store, modelDir: string, model = "credit"): Promise<ModelVersion> {
  return registerGraph(store, modelDir, model, randomOnnx);
}

async function registerGraph(store: Store, modelDir: string, model: string, graph: (width: number, classes: number) => Uint8Array): Promise<ModelVersion> {
  const trained = trainModel({ dataset: makeDataset({ generator: "credit" }, 800, 9), kind: "logistic", seed: 9 });
  return registerVersion(store, modelDir, {
    model,
    kind: "logistic",
    onnx: graph(encodedWidth(trained.schema), trained.schema.classes.length),
    schema: trained.schema,
    metrics: trained.metrics,
    trainingData: trained.trainingData,
    baseline: trained.baseline,
  });
}
