import fs from "node:fs";
import type { FeatureSpec } from "../schema.ts";
import { chooseClasses, chooseFeatures, chooseInputs, chooseOutputs, type ScoreKind } from "./complete-schema.ts";
import { ImportError } from "./errors.ts";
import { formatValue, readOnnx, summarizeGraph, type GraphSummary } from "./inspect.ts";
import type { IoOutputs } from "./io-mapping.ts";
import { readSchemaFile, type SchemaFile } from "./schema-file.ts";
import { openSession } from "./session.ts";

/**
 * What `mlwatch models inspect` prints: the graph as onnxruntime will see it, whether onnxruntime
 * can open it, what import would rewrite, and, part by part, what import would infer from the
 * graph or still needs from the schema file.
 */
export async function inspectModelFile(file: string, options: { schemaFile?: string; outputs?: ScoreKind } = {}): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new ImportError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const graph = summarizeGraph(readOnnx(bytes, file));
  const schemaFile = options.schemaFile === undefined ? {} : readSchemaFile(options.schemaFile);
  const runtime = await runtimeVerdict(bytes, file);
  return [
    `${file}${graph.producer ? ` (produced by ${graph.producer})` : ""}`,
    `opsets: ${graph.opsets.map((o) => `${o.domain} ${o.version}`).join(", ")}`,
    `operators: ${graph.ops.map((o) => (o.count > 1 ? `${o.op}×${o.count}` : o.op)).join(", ")}`,
    "inputs:",
    ...graph.inputs.map((v) => `  ${v.name}: ${formatValue(v)}`),
    "outputs:",
    ...graph.outputs.map((v) => `  ${v.name}: ${formatValue(v)}${v.type === "zipmap" ? " (rewritten at import to a float32 [N, classes] tensor: onnxruntime-node cannot return ZipMap values)" : ""}`),
    `onnxruntime: ${runtime}`,
    "import would use:",
    ...inferenceLines(graph, schemaFile, options.outputs),
  ].join("\n");
}

async function runtimeVerdict(bytes: Uint8Array, file: string): Promise<string> {
  try {
    await (await openSession(bytes, file)).release();
    return "can open the graph";
  } catch (err) {
    if (err instanceof ImportError) return err.message;
    throw err;
  }
}

function inferenceLines(graph: GraphSummary, file: SchemaFile, kind: ScoreKind | undefined): string[] {
  const inferred: string[] = [];
  const outputs = attempt(() => chooseOutputs(graph, file, kind, inferred));
  const classes = outputs.ok ? attempt(() => chooseClasses(graph, file, outputs.value, inferred)) : null;
  const features = attempt(() => chooseFeatures(graph, file, inferred));
  const inputs = features.ok ? attempt(() => chooseInputs(graph, file, features.value, inferred)) : null;
  return [
    `  outputs: ${outputs.ok ? describeOutputs(outputs.value) : `needs the schema — ${outputs.error}`}`,
    `  classes: ${classes === null ? "(after outputs)" : classes.ok ? classes.value.join(", ") : `needs the schema — ${classes.error}`}`,
    `  features: ${features.ok ? describeFeatures(features.value) : `needs the schema — ${features.error}`}`,
    `  inputs: ${inputs === null ? "(after features)" : inputs.ok ? inputs.value.map((i) => `${i.name} ← ${i.features.join(", ")}`).join("; ") : `needs the schema — ${inputs.error}`}`,
    ...inferred.map((line) => `  inferred: ${line}`),
  ];
}

type Attempt<T> = { ok: true; value: T } | { ok: false; error: string };

function attempt<T>(step: () => T): Attempt<T> {
  try {
    return { ok: true, value: step() };
  } catch (err) {
    if (err instanceof ImportError) return { ok: false, error: err.message };
    throw err;
  }
}

function describeOutputs(o: IoOutputs): string {
  const score = o.logits !== undefined ? `logits '${o.logits}'` : `probabilities '${o.probabilities}'`;
  return o.label !== undefined ? `${score}, label '${o.label}'` : score;
}

function describeFeatures(features: FeatureSpec[]): string {
  return features.map((f) => (f.type === "numeric" ? `${f.name} (numeric)` : `${f.name} (categorical: ${f.categories.join(", ")})`)).join(", ");
}
