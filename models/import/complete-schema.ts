import type { FeatureSpec, ModelSchema } from "../schema.ts";
import { ImportError } from "./errors.ts";
import { formatValue, type GraphSummary, type GraphValue } from "./inspect.ts";
import { inputDtypes, scoreOutput, type InputDtype, type IoInput, type IoOutputs } from "./io-mapping.ts";
import type { SchemaFile } from "./schema-file.ts";

export type ScoreKind = "probabilities" | "logits";

export interface CompletedSchema {
  schema: ModelSchema;
  /** One line per part taken from the graph rather than the schema file. */
  inferred: string[];
}

/**
 * The schema file filled in from the graph, and checked against it: every graph input fed exactly
 * once with the right number of columns, the score output a float tensor (or a ZipMap) with one
 * column per class. Throws an ImportError naming the first mismatch.
 */
export function completeSchema(graph: GraphSummary, file: SchemaFile, options: { kind?: ScoreKind; label?: string } = {}): CompletedSchema {
  const inferred: string[] = [];
  const outputs = chooseOutputs(graph, file, options.kind, inferred);
  const classes = chooseClasses(graph, file, outputs, inferred);
  const features = chooseFeatures(graph, file, inferred);
  const inputs = chooseInputs(graph, file, features, inferred);
  const label = options.label ?? file.label ?? "label";
  return { schema: { features, classes, label, io: { inputs, outputs } }, inferred };
}

export function chooseOutputs(graph: GraphSummary, file: SchemaFile, kind: ScoreKind | undefined, inferred: string[]): IoOutputs {
  const named = file.outputs?.logits ?? file.outputs?.probabilities;
  const score = named ? graphOutput(graph, named) : inferScoreOutput(graph);
  const scoreKind: ScoreKind = file.outputs?.logits ? "logits" : file.outputs?.probabilities ? "probabilities" : (kind ?? "probabilities");
  if (score.type === "tensor" && !score.dtype.startsWith("float")) throw new ImportError(`output '${score.name}' is ${formatValue(score)}; class scores must be a float tensor`);
  if (score.type === "other") throw new ImportError(`output '${score.name}' is a ${score.description}; class scores must be a float tensor or a ZipMap`);
  if (score.type === "zipmap" && scoreKind === "logits") throw new ImportError(`output '${score.name}' is a ZipMap of probabilities, not logits`);
  if (!named) inferred.push(`${scoreKind} from output '${score.name}' (${formatValue(score)})`);
  const labelOutput = file.outputs?.label ?? graph.outputs.find((o) => o.type === "tensor" && o.name !== score.name && (o.dtype === "int64" || o.dtype === "string"))?.name;
  if (labelOutput !== undefined) graphOutput(graph, labelOutput);
  return { [scoreKind]: score.name, ...(labelOutput !== undefined ? { label: labelOutput } : {}) };
}

function inferScoreOutput(graph: GraphSummary): GraphValue {
  const candidates = graph.outputs.filter((o) => o.type === "zipmap" || (o.type === "tensor" && o.dtype.startsWith("float")));
  const preferred = candidates.length > 1 ? candidates.filter((o) => /prob/i.test(o.name)) : candidates;
  if (preferred.length === 1) return preferred[0]!;
  const names = graph.outputs.map((o) => `'${o.name}'`).join(", ");
  throw new ImportError(`cannot tell which output holds the class scores (outputs: ${names}); name it in the schema's "outputs"`);
}

function graphOutput(graph: GraphSummary, name: string): GraphValue {
  const found = graph.outputs.find((o) => o.name === name);
  if (!found) throw new ImportError(`schema output '${name}' is not an output of the graph (outputs: ${graph.outputs.map((o) => o.name).join(", ")})`);
  return found;
}

export function chooseClasses(graph: GraphSummary, file: SchemaFile, outputs: IoOutputs, inferred: string[]): string[] {
  const stated = graph.classLabels;
  const classes = file.classes ?? stated;
  if (!classes) throw new ImportError(`the graph does not name its classes; list them in the schema's "classes" in score-column order`);
  if (!file.classes) inferred.push(`classes ${classes.join(", ")} from the graph's classifier`);
  if (new Set(classes).size !== classes.length) throw new ImportError(`classes must be distinct (${classes.join(", ")})`);
  if (stated && stated.length !== classes.length) {
    throw new ImportError(`schema has ${classes.length} classes (${classes.join(", ")}) but the graph's classifier knows ${stated.length} (${stated.join(", ")})`);
  }
  const score = graph.outputs.find((o) => o.name === scoreOutput(outputs).name)!;
  const columns = score.type === "tensor" ? score.shape[score.shape.length - 1] : undefined;
  const binaryColumn = columns === 1 && classes.length === 2;
  if (typeof columns === "number" && columns !== classes.length && !binaryColumn) {
    throw new ImportError(`output '${score.name}' has ${columns} score columns but the schema has ${classes.length} classes (${classes.join(", ")})`);
  }
  return classes;
}

export function chooseFeatures(graph: GraphSummary, file: SchemaFile, inferred: string[]): FeatureSpec[] {
  if (file.features) {
    const names = file.features.map((f) => f.name);
    const duplicate = names.find((n, i) => names.indexOf(n) !== i);
    if (duplicate !== undefined) throw new ImportError(`feature '${duplicate}' appears twice in the schema`);
    return file.features;
  }
  const wide = graph.inputs.find((i) => i.type !== "tensor" || columnsOf(i) !== 1);
  if (wide) {
    throw new ImportError(`input '${wide.name}' (${formatValue(wide)}) takes columns the graph does not name; list them in the schema's "features"`);
  }
  const features = graph.inputs.map((input): FeatureSpec => {
    if (input.type === "tensor" && input.dtype !== "string") return { name: input.name, type: "numeric" };
    const categories = graph.inputCategories[input.name];
    if (!categories) throw new ImportError(`no OneHotEncoder in the graph lists the categories of string input '${input.name}'; list them in the schema's "features"`);
    return { name: input.name, type: "categorical", categories };
  });
  inferred.push(`features from the graph's inputs: ${features.map((f) => `${f.name} (${f.type})`).join(", ")}`);
  return features;
}

export function chooseInputs(graph: GraphSummary, file: SchemaFile, features: FeatureSpec[], inferred: string[]): IoInput[] {
  const mapping = file.inputs ?? inferMapping(graph, features, inferred);
  const byName = new Map(features.map((f) => [f.name, f]));
  const used = new Set<string>();
  for (const name of Object.keys(mapping)) {
    if (!graph.inputs.some((i) => i.name === name)) throw new ImportError(`schema input '${name}' is not an input of the graph (inputs: ${graph.inputs.map((i) => i.name).join(", ")})`);
  }
  const inputs = graph.inputs.map((input) => {
    const names = mapping[input.name];
    if (!names) throw new ImportError(`graph input '${input.name}' gets no features; map it in the schema's "inputs"`);
    const specs = names.map((n) => {
      const spec = byName.get(n);
      if (!spec) throw new ImportError(`input '${input.name}' maps feature '${n}', which is not in the schema's features`);
      if (used.has(n)) throw new ImportError(`feature '${n}' is mapped onto more than one input`);
      used.add(n);
      return spec;
    });
    return checkInput(input, specs);
  });
  const unused = features.find((f) => !used.has(f.name));
  if (unused) throw new ImportError(`feature '${unused.name}' is mapped onto no input`);
  return inputs;
}

function inferMapping(graph: GraphSummary, features: FeatureSpec[], inferred: string[]): Record<string, string[]> {
  const names = graph.inputs.map((i) => i.name);
  if (features.length === names.length && features.every((f) => names.includes(f.name))) {
    inferred.push("one input per feature, matched by name");
    return Object.fromEntries(features.map((f) => [f.name, [f.name]]));
  }
  if (names.length === 1) {
    inferred.push(`every feature into input '${names[0]}', in schema order`);
    return { [names[0]!]: features.map((f) => f.name) };
  }
  throw new ImportError(`cannot tell how the features map onto inputs ${names.join(", ")}; give the schema's "inputs"`);
}

function checkInput(input: GraphValue, specs: FeatureSpec[]): IoInput {
  if (input.type !== "tensor") throw new ImportError(`input '${input.name}' is ${formatValue(input)}; mlwatch feeds tensors only`);
  if (!(inputDtypes as readonly string[]).includes(input.dtype)) throw new ImportError(`input '${input.name}' has element type ${input.dtype}, which mlwatch cannot feed`);
  if (input.shape.length !== 2) throw new ImportError(`input '${input.name}' has shape ${formatValue(input)}; mlwatch feeds [N, columns]`);
  const dtype = input.dtype as InputDtype;
  const numericInString = dtype === "string" ? specs.find((s) => s.type === "numeric") : undefined;
  if (numericInString) throw new ImportError(`feature '${numericInString.name}' is numeric but input '${input.name}' takes strings`);
  const widths = specs.map((s) => (s.type === "categorical" && dtype !== "string" ? s.categories.length : 1));
  const total = widths.reduce((a, b) => a + b, 0);
  const columns = columnsOf(input);
  if (typeof columns === "number" && columns !== total) {
    const parts = specs.map((s, i) => `${s.name} ${widths[i]}${s.type === "categorical" && dtype !== "string" ? " one-hot" : ""}`).join(", ");
    throw new ImportError(`input '${input.name}' takes ${columns} columns but the schema's features give it ${total} (${parts})`);
  }
  return { name: input.name, dtype, features: specs.map((s) => s.name) };
}

function columnsOf(v: GraphValue): number | string | null {
  return v.type === "tensor" && v.shape.length === 2 ? v.shape[1]! : null;
}
