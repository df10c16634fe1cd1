import onnxProto from "onnx-proto";
import type { onnx as Onnx } from "onnx-proto";
import { ImportError } from "./errors.ts";

// onnx-proto is CommonJS: its namespace arrives as the default export under Node ESM.
const { onnx } = onnxProto;
const DataType = onnx.TensorProto.DataType;

/** A protobuf int64: a number, or a Long when the value came from decoding. */
type Int64 = number | { toNumber(): number };

export type Dim = number | string | null;

/** A graph input or output as mlwatch sees it. */
export type GraphValue =
  | { name: string; type: "tensor"; dtype: string; shape: Dim[] }
  | { name: string; type: "zipmap"; keyType: string }
  | { name: string; type: "other"; description: string };

/**
 * A decoded model: protobufjs fills every repeated field with an array, which its generated
 * interfaces (shared with hand-built messages) do not promise.
 */
export type DecodedModel = Omit<Onnx.ModelProto, "graph"> & { graph: DecodedGraph };
export type DecodedGraph = Omit<Onnx.GraphProto, "node" | "output"> & { node: Onnx.NodeProto[]; output: Onnx.ValueInfoProto[] };

export interface GraphSummary {
  producer: string;
  opsets: { domain: string; version: number }[];
  /** Operator types in graph order of first use, with how often each occurs. */
  ops: { op: string; count: number }[];
  inputs: GraphValue[];
  outputs: GraphValue[];
  /** Class labels a classifier or ZipMap node states, in score-column order; null when none does. */
  classLabels: string[] | null;
  /** Categories of string inputs, from a OneHotEncoder reading the input directly. */
  inputCategories: Record<string, string[]>;
}

const CLASS_LABEL_ATTRIBUTES = ["classlabels_strings", "classlabels_int64s", "classlabels_ints"];

/** Decodes an ONNX ModelProto; anything that is not one is refused here, before onnxruntime sees it. */
export function readOnnx(bytes: Uint8Array, file: string): DecodedModel {
  let proto: Onnx.ModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new ImportError(`${file}: not an ONNX model (${err instanceof Error ? err.message : String(err)})`);
  }
  const decoded = proto as unknown as DecodedModel;
  if (!proto.graph || decoded.graph.node.length === 0 || decoded.graph.output.length === 0) {
    throw new ImportError(`${file}: not an ONNX model (no graph with nodes and outputs)`);
  }
  return decoded;
}

export function encodeOnnx(proto: DecodedModel): Uint8Array {
  return onnx.ModelProto.encode(proto).finish();
}

export function summarizeGraph(proto: DecodedModel): GraphSummary {
  const graph = proto.graph;
  const initializers = new Set(graph.initializer.map((t) => t.name));
  return {
    producer: [proto.producerName, proto.producerVersion].filter(Boolean).join(" "),
    opsets: proto.opsetImport.map((o) => ({ domain: o.domain || "ai.onnx", version: toNumber(o.version) })),
    ops: countOps(graph.node),
    // Older exporters list initializers among the inputs too; they are weights, not something to feed.
    inputs: graph.input.filter((v) => !initializers.has(v.name)).map(describeValue),
    outputs: graph.output.map(describeValue),
    classLabels: classLabels(graph.node),
    inputCategories: inputCategories(graph.node),
  };
}

export function toNumber(value: Int64 | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === "number" ? value : value.toNumber();
}

export function dtypeName(elemType: number): string {
  const names: Record<number, string> = {
    [DataType.FLOAT]: "float32",
    [DataType.DOUBLE]: "float64",
    [DataType.INT64]: "int64",
    [DataType.INT32]: "int32",
    [DataType.STRING]: "string",
    [DataType.BOOL]: "bool",
    [DataType.FLOAT16]: "float16",
  };
  return names[elemType] ?? `type ${elemType}`;
}

export function formatValue(v: GraphValue): string {
  if (v.type === "tensor") return `${v.dtype} [${v.shape.map((d) => (d === null ? "?" : String(d))).join(", ")}]`;
  if (v.type === "zipmap") return `ZipMap seq(map(${v.keyType}, float32))`;
  return v.description;
}

function describeValue(v: Onnx.IValueInfoProto): GraphValue {
  const name = v.name ?? "";
  const tensor = v.type?.tensorType;
  if (tensor) {
    const shape = (tensor.shape?.dim ?? []).map((d): Dim => (d.dimValue !== null && d.dimValue !== undefined ? toNumber(d.dimValue) : d.dimParam || null));
    return { name, type: "tensor", dtype: dtypeName(tensor.elemType ?? 0), shape };
  }
  const map = v.type?.sequenceType?.elemType?.mapType;
  if (map) return { name, type: "zipmap", keyType: dtypeName(map.keyType ?? 0) };
  return { name, type: "other", description: v.type?.sequenceType ? "sequence" : v.type?.mapType ? "map" : "non-tensor value" };
}

function countOps(nodes: Onnx.NodeProto[]): { op: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const n of nodes) {
    const op = n.domain ? `${n.domain}:${n.opType}` : (n.opType ?? "");
    counts.set(op, (counts.get(op) ?? 0) + 1);
  }
  return [...counts].map(([op, count]) => ({ op, count }));
}

function classLabels(nodes: Onnx.NodeProto[]): string[] | null {
  for (const n of nodes) {
    for (const name of CLASS_LABEL_ATTRIBUTES) {
      const labels = attributeValues(n, name);
      if (labels.length > 0) return labels;
    }
  }
  return null;
}

function inputCategories(nodes: Onnx.NodeProto[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const n of nodes) {
    const input = n.input?.[0];
    if (n.opType !== "OneHotEncoder" || !input) continue;
    const categories = attributeValues(n, "cats_strings");
    if (categories.length > 0) out[input] = categories;
  }
  return out;
}

/** A strings or ints attribute as text; empty when the node has no such attribute. */
export function attributeValues(node: Onnx.INodeProto, name: string): string[] {
  const attr = node.attribute?.find((a) => a.name === name);
  if (!attr) return [];
  if (attr.strings && attr.strings.length > 0) return attr.strings.map((s) => Buffer.from(s).toString("utf8"));
  return (attr.ints ?? []).map((i) => String(toNumber(i)));
}
