import onnxProto from "onnx-proto";
import type { onnx as Onnx } from "onnx-proto";
import { attributeValues, type DecodedModel } from "./inspect.ts";

const { onnx } = onnxProto;
const ML_DOMAIN = "ai.onnx.ml";

export interface ZipMapRewrite {
  /** The graph output that was a ZipMap and is now a float tensor under the same name. */
  output: string;
  /** The tensor the ZipMap read: the classifier's probabilities. */
  source: string;
  classes: number;
}

/**
 * onnxruntime-node cannot return a ZipMap output ("Non tensor type is temporarily not supported"),
 * which is how skl2onnx and onnxmltools hand out probabilities by default. Each ZipMap that feeds a
 * graph output becomes an Identity of its input, and the output is declared a float [N, C] tensor:
 * the output keeps its name, so a schema written against the exporter's graph still applies, and
 * the columns keep the ZipMap's class order. Mutates `proto`; returns what changed.
 */
export function replaceZipMapOutputs(proto: DecodedModel): ZipMapRewrite[] {
  const graph = proto.graph;
  const outputs = new Map(graph.output.map((o) => [o.name, o]));
  const rewrites: ZipMapRewrite[] = [];
  graph.node = graph.node.map((node) => {
    const output = node.output[0];
    const declared = output === undefined ? undefined : outputs.get(output);
    const source = node.input[0];
    if (node.opType !== "ZipMap" || node.domain !== ML_DOMAIN || !declared || !source) return node;
    const classes = Math.max(attributeValues(node, "classlabels_strings").length, attributeValues(node, "classlabels_int64s").length);
    declared.type = floatMatrix(classes);
    rewrites.push({ output: declared.name, source, classes });
    return onnx.NodeProto.create({ domain: "", opType: "Identity", input: [source], output: [declared.name], name: `${node.name || "ZipMap"}_as_tensor` });
  });
  if (rewrites.length > 0) ensureDefaultOpset(proto);
  return rewrites;
}

function floatMatrix(columns: number): Onnx.TypeProto {
  return onnx.TypeProto.create({
    tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: "N" }, { dimValue: columns }] } },
  });
}

/** Identity lives in the default domain, which a pure ai.onnx.ml graph may not import. */
function ensureDefaultOpset(proto: DecodedModel): void {
  if (!proto.opsetImport.some((o) => !o.domain)) proto.opsetImport.push(onnx.OperatorSetIdProto.create({ domain: "", version: 13 }));
}
