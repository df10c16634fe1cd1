import onnxProto from "onnx-proto";
import type { onnx as Onnx } from "onnx-proto";
import type { ModelSchema } from "./schema.ts";
import type { DenseLayer, TrainedModel } from "./train/network.ts";

// onnx-proto is CommonJS: its namespace arrives as the default export under Node ESM.
const { onnx } = onnxProto;

export const ONNX_INPUT = "input";
export const ONNX_OUTPUT = "probabilities";
const OPSET = 13;
const IR_VERSION = 8;

/**
 * Serializes the model as ONNX: input [N, D] raw encoded features → Gemm (standardization
 * folded in) → [Relu → Gemm]… → Softmax(axis=1) → probabilities [N, C]. Folding means serving
 * feeds encodeRows output straight in, with no separate scaling step to get wrong.
 */
export function exportOnnx(model: TrainedModel, schema: ModelSchema): Uint8Array {
  const layers = [foldStandardization(model), ...model.layers.slice(1)];
  const nodes: Onnx.INodeProto[] = [];
  const initializers: Onnx.ITensorProto[] = [];
  let current = ONNX_INPUT;
  layers.forEach((layer, l) => {
    const w = `W${l}`;
    const b = `B${l}`;
    initializers.push(floatTensor(w, [layer.inputs, layer.outputs], layer.weights), floatTensor(b, [layer.outputs], layer.bias));
    nodes.push(node("Gemm", [current, w, b], `gemm${l}`));
    current = `gemm${l}`;
    if (l < layers.length - 1) {
      nodes.push(node("Relu", [current], `relu${l}`));
      current = `relu${l}`;
    }
  });
  nodes.push(node("Softmax", [current], ONNX_OUTPUT, [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: 1 }]));
  const first = layers[0]!;
  const last = layers[layers.length - 1]!;
  const proto = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: "", version: OPSET }],
    producerName: "mlwatch",
    graph: {
      name: `mlwatch_${model.kind}`,
      node: nodes,
      initializer: initializers,
      input: [matrixInfo(ONNX_INPUT, first.inputs)],
      output: [matrixInfo(ONNX_OUTPUT, last.outputs)],
    },
    // The schema travels with the artifact so a file found on its own still says what it expects.
    metadataProps: [{ key: "mlwatch.schema", value: JSON.stringify(schema) }],
  });
  return onnx.ModelProto.encode(proto).finish();
}

/**
 * The first layer applied to raw x instead of (x − mean) / std:
 * W'[i, j] = W[i, j] / std[i] and b'[j] = b[j] − Σᵢ W[i, j]·mean[i] / std[i].
 */
function foldStandardization(model: TrainedModel): DenseLayer {
  const { inputs, outputs, weights, bias } = model.layers[0]!;
  const { mean, std } = model.standardizer;
  const folded = new Float64Array(weights.length);
  const foldedBias = Float64Array.from(bias);
  for (let i = 0; i < inputs; i++) {
    for (let j = 0; j < outputs; j++) {
      const w = weights[i * outputs + j]! / std[i]!;
      folded[i * outputs + j] = w;
      foldedBias[j] = foldedBias[j]! - w * mean[i]!;
    }
  }
  return { inputs, outputs, weights: folded, bias: foldedBias };
}

function floatTensor(name: string, dims: number[], values: Float64Array): Onnx.ITensorProto {
  // floatData is written as packed little-endian floats by protobuf, independent of host byte order.
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, floatData: Array.from(values) };
}

function node(opType: string, input: string[], output: string, attribute: Onnx.IAttributeProto[] = []): Onnx.INodeProto {
  return { opType, input, output: [output], name: output, attribute };
}

/** float32 [N, width] with the batch dimension symbolic. */
function matrixInfo(name: string, width: number): Onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: [{ dimParam: "N" }, { dimValue: width }] },
      },
    },
  };
}
