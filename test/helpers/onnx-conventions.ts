/**
 * ONNX graphs laid out as Python exporters write them (torch.onnx, skl2onnx, onnxmltools), built
 * with onnx-proto, for the bring-your-own-model tests. Every graph implements the same churn
 * model as `churnData` draws its labels from, so each one scores the reference data sensibly:
 *
 *   logit(churn) = −0.06·tenure + 0.03·charges + 0.5·calls + plan effect − 1.2
 *
 * Node types, attribute names, input/output names and opset imports follow the real exporters;
 * weights are the generator's, not fitted.
 */
import fs from "node:fs";
import onnxProto from "onnx-proto";
import type { onnx as Onnx } from "onnx-proto";
import { Rng } from "../../models/rng.ts";
import type { Row } from "../../models/schema.ts";

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;
const A = onnx.AttributeProto.AttributeType;
const ML = "ai.onnx.ml";

export const PLANS = ["basic", "plus", "pro"];
const PLAN_EFFECT = [0.4, 0, -0.6];
const WEIGHTS = { tenure: -0.06, charges: 0.03, calls: 0.5 };
const BIAS = -1.2;
export const NUMERIC = ["tenure", "charges", "calls"] as const;

export interface ChurnData {
  rows: Row[];
  /** "yes" / "no" per row. */
  labels: string[];
}

/** Rows drawn from the churn model itself: the graphs below are its Bayes-optimal classifier. */
export function churnData(n: number, seed: number, shift = 0): ChurnData {
  const rng = new Rng(seed);
  const rows: Row[] = [];
  const labels: string[] = [];
  for (let i = 0; i < n; i++) {
    const row = { tenure: Math.round(rng.uniform(0, 72)) + shift, charges: Math.round(rng.uniform(20, 120) * 100) / 100, calls: rng.poisson(1.5), plan: PLANS[rng.int(3)]! };
    rows.push(row);
    labels.push(rng.next() < sigmoid(churnLogit(row)) ? "yes" : "no");
  }
  return { rows, labels };
}

export function churnLogit(row: Row): number {
  const plan = PLANS.indexOf(String(row.plan));
  return WEIGHTS.tenure * Number(row.tenure) + WEIGHTS.charges * Number(row.charges) + WEIGHTS.calls * Number(row.calls) + (PLAN_EFFECT[plan] ?? 0) + BIAS;
}

export function writeCsv(file: string, data: ChurnData, label = "churned"): void {
  const columns = ["tenure", "charges", "calls", "plan"];
  const lines = [[...columns, label].join(",")];
  data.rows.forEach((r, i) => lines.push([...columns.map((c) => String(r[c] ?? "")), data.labels[i]].join(",")));
  fs.writeFileSync(file, lines.join("\n") + "\n");
}

/**
 * torch.onnx.export of nn.Sequential(nn.Linear(6, C)[, nn.Softmax(dim=1)]) with input_names=["input"],
 * output_names=["output"]: the plan arrives one-hot in columns 3..5 of the float input.
 * head "softmax": probabilities [N, 2]; "logits": [N, 2]; "single-logit": one column, P(yes) = σ(z).
 * An opset past any release (99) stands for a graph onnxruntime cannot run.
 */
export function pytorchModel(head: "softmax" | "logits" | "single-logit", opset = 17): Uint8Array {
  const w = [WEIGHTS.tenure, WEIGHTS.charges, WEIGHTS.calls, ...PLAN_EFFECT];
  const rows = head === "single-logit" ? [w] : [w.map(() => 0), w];
  const bias = head === "single-logit" ? [BIAS] : [0, BIAS];
  const gemmOut = head === "softmax" ? "/fc/Gemm_output_0" : "output";
  const nodes = [node("Gemm", ["input", "fc.weight", "fc.bias"], [gemmOut], "/fc/Gemm", [float("alpha", 1), float("beta", 1), int("transB", 1)])];
  if (head === "softmax") nodes.push(node("Softmax", [gemmOut], ["output"], "/softmax/Softmax", [int("axis", 1)]));
  return model("main_graph", "pytorch", { "": opset }, {
    node: nodes,
    initializer: [floats("fc.weight", [rows.length, 6], rows.flat()), floats("fc.bias", [bias.length], bias)],
    input: [tensorInfo("input", T.FLOAT, ["batch_size", 6])],
    output: [tensorInfo("output", T.FLOAT, ["batch_size", rows.length])],
  });
}

export type Labels = "int" | "string";

/**
 * skl2onnx convert_sklearn(LogisticRegression on [tenure, charges, calls], initial_types=[("float_input", …)]):
 * LinearClassifier → Normalizer(L1) → ZipMap, label through Cast (ints) or Identity (strings).
 * zipmap=false is options={"zipmap": False}: outputs `label` and `probabilities`.
 */
export function sklearnLogistic(labels: Labels, zipmap: boolean): Uint8Array {
  const w = NUMERIC.map((f) => WEIGHTS[f]);
  // The plan is not an input here; its average effect moves into the intercept.
  const b = BIAS + PLAN_EFFECT.reduce((a, x) => a + x, 0) / 3;
  const head = classifierHead(labels, zipmap, "probability_tensor");
  return model("OnnxLogisticRegression", "skl2onnx", { "": 17, [ML]: 1 }, {
    node: [
      binaryLogistic("float_input", labels, w, b),
      ...head.nodes,
    ],
    initializer: [],
    input: [tensorInfo("float_input", T.FLOAT, [null, 3])],
    output: head.outputs,
  });
}

/**
 * skl2onnx of Pipeline([("pre", ColumnTransformer([("num", StandardScaler(), numeric),
 * ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"])])), ("clf", LogisticRegression())])
 * converted with one input per column: float [N, 1] per numeric column, string [N, 1] for plan.
 */
export function sklearnPipeline(): Uint8Array {
  const scale = [1 / 20, 1 / 30, 1];
  const offset = [36, 70, 0];
  // Coefficients on the scaled columns: w·x = (w/scale)·(x − offset)·scale + w·offset.
  const w = [...NUMERIC.map((f, i) => WEIGHTS[f] / scale[i]!), ...PLAN_EFFECT];
  const b = BIAS + NUMERIC.reduce((a, f, i) => a + WEIGHTS[f] * offset[i]!, 0);
  const head = classifierHead("string", true, "probability_tensor");
  return model("pipeline_churn", "skl2onnx", { "": 17, [ML]: 1 }, {
    node: [
      node("Concat", [...NUMERIC], ["merged_columns"], "Concat", [int("axis", 1)]),
      node("Scaler", ["merged_columns"], ["variable"], "Scaler", [floatsAttr("offset", offset), floatsAttr("scale", scale)], ML),
      node("OneHotEncoder", ["plan"], ["plan_onehot"], "OneHotEncoder", [stringsAttr("cats_strings", PLANS), int("zeros", 1)], ML),
      node("Reshape", ["plan_onehot", "shape_tensor"], ["plan_2d"], "Reshape"),
      node("Concat", ["variable", "plan_2d"], ["transformed_column"], "Concat1", [int("axis", -1)]),
      binaryLogistic("transformed_column", "string", w, b),
      ...head.nodes,
    ],
    initializer: [{ name: "shape_tensor", dims: [2], dataType: T.INT64, int64Data: [-1, PLANS.length] }],
    input: [...NUMERIC.map((f) => tensorInfo(f, T.FLOAT, [null, 1])), tensorInfo("plan", T.STRING, [null, 1])],
    output: head.outputs,
  });
}

/**
 * onnxmltools convert_lightgbm of a 3-tree binary classifier on [tenure, charges, calls]:
 * TreeEnsembleClassifier → label + probability_tensor → ZipMap → `probabilities`.
 */
export function lightgbmTrees(): Uint8Array {
  const trees = [
    { feature: 0, threshold: 24, left: 0.62, right: 0.3 },
    { feature: 1, threshold: 80, left: 0.35, right: 0.58 },
    { feature: 2, threshold: 2.5, left: 0.38, right: 0.66 },
  ];
  const attrs = {
    nodes_treeids: [] as number[], nodes_nodeids: [] as number[], nodes_featureids: [] as number[], nodes_values: [] as number[],
    nodes_modes: [] as string[], nodes_truenodeids: [] as number[], nodes_falsenodeids: [] as number[],
    class_treeids: [] as number[], class_nodeids: [] as number[], class_ids: [] as number[], class_weights: [] as number[],
  };
  trees.forEach((t, id) => {
    // Node 0 splits (x < threshold → node 1, else node 2); nodes 1 and 2 are leaves carrying P(yes)/3.
    attrs.nodes_treeids.push(id, id, id);
    attrs.nodes_nodeids.push(0, 1, 2);
    attrs.nodes_featureids.push(t.feature, 0, 0);
    attrs.nodes_values.push(t.threshold, 0, 0);
    attrs.nodes_modes.push("BRANCH_LT", "LEAF", "LEAF");
    attrs.nodes_truenodeids.push(1, 0, 0);
    attrs.nodes_falsenodeids.push(2, 0, 0);
    for (const [leaf, p] of [[1, t.left], [2, t.right]] as const) {
      attrs.class_treeids.push(id, id);
      attrs.class_nodeids.push(leaf, leaf);
      attrs.class_ids.push(0, 1);
      attrs.class_weights.push((1 - p) / trees.length, p / trees.length);
    }
  });
  const attributes = Object.entries(attrs).map(([name, values]) =>
    name === "nodes_modes" ? stringsAttr(name, values as string[]) : name.endsWith("values") || name.endsWith("weights") ? floatsAttr(name, values as number[]) : ints(name, values as number[]),
  );
  return model("LightGBM", "OnnxMLTools", { "": 13, [ML]: 1 }, {
    node: [
      node("TreeEnsembleClassifier", ["input"], ["label", "probability_tensor"], "LightGbmLGBMClassifier", [...attributes, ints("classlabels_int64s", [0, 1]), str("post_transform", "NONE")], ML),
      node("ZipMap", ["probability_tensor"], ["probabilities"], "ZipMap", [ints("classlabels_int64s", [0, 1])], ML),
    ],
    initializer: [],
    input: [tensorInfo("input", T.FLOAT, [null, 3])],
    output: [tensorInfo("label", T.INT64, [null]), zipMapInfo("probabilities", T.INT64)],
  });
}

/**
 * The classifier's `raw_label` cast to int64 (or passed through for strings), the scores L1-normalised,
 * then ZipMap; with zipmap=false skl2onnx names the outputs `label` and `probabilities` instead.
 */
function classifierHead(labels: Labels, zipmap: boolean, scores: string): { nodes: Onnx.INodeProto[]; outputs: Onnx.IValueInfoProto[] } {
  const labelName = zipmap ? "output_label" : "label";
  const labelType = labels === "int" ? T.INT64 : T.STRING;
  const nodes = [
    labels === "int" ? node("Cast", ["raw_label"], [labelName], "Cast", [int("to", T.INT64)]) : node("Identity", ["raw_label"], [labelName], "Identity"),
    node("Normalizer", [scores], ["probabilities"], "Normalizer", [str("norm", "L1")], ML),
  ];
  if (!zipmap) return { nodes, outputs: [tensorInfo(labelName, labelType, [null]), tensorInfo("probabilities", T.FLOAT, [null, 2])] };
  nodes.push(node("ZipMap", ["probabilities"], ["output_probability"], "ZipMap", zipMapLabels(labels), ML));
  return { nodes, outputs: [tensorInfo(labelName, labelType, [null]), zipMapInfo("output_probability", labelType)] };
}

/** skl2onnx writes a binary LogisticRegression as two classes: class 0 scores −(w·x + b), class 1 scores w·x + b. */
function binaryLogistic(input: string, labels: Labels, w: number[], b: number): Onnx.INodeProto {
  return node("LinearClassifier", [input], ["raw_label", "probability_tensor"], "LinearClassifier", [
    ...classLabels(labels),
    floatsAttr("coefficients", [...w.map((x) => -x), ...w]),
    floatsAttr("intercepts", [-b, b]),
    int("multi_class", 0),
    str("post_transform", "LOGISTIC"),
  ], ML);
}

function classLabels(labels: Labels): Onnx.IAttributeProto[] {
  return labels === "int" ? [ints("classlabels_ints", [0, 1])] : [stringsAttr("classlabels_strings", ["no", "yes"])];
}

function zipMapLabels(labels: Labels): Onnx.IAttributeProto[] {
  return labels === "int" ? [ints("classlabels_int64s", [0, 1])] : [stringsAttr("classlabels_strings", ["no", "yes"])];
}

function model(name: string, producer: string, opsets: Record<string, number>, graph: Omit<Onnx.IGraphProto, "name">): Uint8Array {
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    producerName: producer,
    opsetImport: Object.entries(opsets).map(([domain, version]) => ({ domain, version })),
    graph: { name, ...graph },
  });
  return onnx.ModelProto.encode(proto).finish();
}

function node(opType: string, input: string[], output: string[], name: string, attribute: Onnx.IAttributeProto[] = [], domain = ""): Onnx.INodeProto {
  return { opType, input, output, name, attribute, domain };
}

function tensorInfo(name: string, elemType: number, dims: (number | string | null)[]): Onnx.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === "number" ? { dimValue: d } : d === null ? {} : { dimParam: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

function zipMapInfo(name: string, keyType: number): Onnx.IValueInfoProto {
  return { name, type: { sequenceType: { elemType: { mapType: { keyType, valueType: { tensorType: { elemType: T.FLOAT } } } } } } };
}

function floats(name: string, dims: number[], values: number[]): Onnx.ITensorProto {
  return { name, dims, dataType: T.FLOAT, floatData: values };
}

const int = (name: string, i: number): Onnx.IAttributeProto => ({ name, type: A.INT, i });
const float = (name: string, f: number): Onnx.IAttributeProto => ({ name, type: A.FLOAT, f });
const str = (name: string, s: string): Onnx.IAttributeProto => ({ name, type: A.STRING, s: Buffer.from(s) });
const ints = (name: string, values: number[]): Onnx.IAttributeProto => ({ name, type: A.INTS, ints: values });
const floatsAttr = (name: string, values: number[]): Onnx.IAttributeProto => ({ name, type: A.FLOATS, floats: values });
const stringsAttr = (name: string, values: string[]): Onnx.IAttributeProto => ({ name, type: A.STRINGS, strings: values.map((v) => Buffer.from(v)) });

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}
