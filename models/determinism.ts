import type { onnx as Onnx } from "onnx-proto";
import { readOnnx } from "./import/inspect.ts";

/** Operators whose output is a draw, not a function of the input: answers of such a graph cannot be reused. */
const RANDOM_OPS = new Set(["RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli"]);

/**
 * Whether the same input always gives the same output: no random operator anywhere in the graph or
 * its subgraphs (If, Loop, Scan bodies), and no Dropout fed a training-mode flag.
 */
export function isDeterministic(bytes: Uint8Array, file: string): boolean {
  return graphIsDeterministic(readOnnx(bytes, file).graph.node);
}

function graphIsDeterministic(nodes: readonly Onnx.INodeProto[]): boolean {
  for (const node of nodes) {
    if (RANDOM_OPS.has(node.opType ?? "")) return false;
    // Dropout's third input is training_mode; without it (the exporters' inference form) it is the identity.
    if (node.opType === "Dropout" && (node.input?.length ?? 0) >= 3 && node.input![2]) return false;
    for (const a of node.attribute ?? []) {
      const subgraphs = [...(a.g ? [a.g] : []), ...(a.graphs ?? [])];
      if (subgraphs.some((g) => !graphIsDeterministic(g.node ?? []))) return false;
    }
  }
  return true;
}
