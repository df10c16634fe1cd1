import type { Command } from "../command.ts";
import { parse, printTable, subcommand, UsageError } from "../command.ts";
import { withStore } from "../open-store.ts";
import { describeRewrite, prepareImport } from "../../models/import/import.ts";
import { registerNewEnsemble, registerNewVersion, throughServe } from "../register-version.ts";
import { ensembleMethods, type EnsembleSpec } from "../../models/ensemble.ts";
import { inspectModelFile } from "../../models/import/inspect-report.ts";
import { getVersion, listModels, listVersions, type ModelVersion } from "../../models/registry.ts";

const usage = `usage: mlwatch models <subcommand>

  list                      every registered model with its version count and production version
  show <model> [version]    versions of a model, or one version's schema, metrics and artifact
  compare <model> <A> <B>   held-out metrics of two versions side by side
  import <file.onnx> --name <model> --reference <file.csv> [--schema <file.json>] [--label <col>] [--outputs probabilities|logits]
                            register an ONNX model trained elsewhere (scikit-learn, PyTorch, XGBoost, LightGBM…):
                            checks it against the schema, dry-runs it on the reference rows, and makes them its
                            drift baseline (with --label, also its reference accuracy); see README "Bring your own model"
  inspect <file.onnx> [--schema <file.json>] [--outputs probabilities|logits]
                            the graph's inputs, outputs, opsets and operators, and what import would infer
  ensemble <model> <version> <version>... [--method mean|weighted|vote] [--weights W,W,...]
                            register a version that combines registered versions of the same schema and classes:
                            the mean (default) or weighted mean of their probabilities, or their majority vote;
                            it serves, logs, drifts and rolls out like any version, sharing its members' sessions`;

const importOptions = {
  name: { type: "string" },
  schema: { type: "string" },
  reference: { type: "string" },
  label: { type: "string" },
  outputs: { type: "string" },
} as const;

export const modelsCommand: Command = {
  name: "models",
  summary: "list, show and compare registered model versions",
  usage,
  async run(argv) {
    const sub = subcommand(argv, ["list", "show", "compare", "import", "inspect", "ensemble"] as const);
    if (!sub) {
      console.log(usage);
      return;
    }
    const args = argv.slice(1);
    if (sub === "list") return list(args);
    if (sub === "show") return show(args);
    if (sub === "compare") return compare(args);
    if (sub === "import") return importFile(args);
    if (sub === "ensemble") return ensemble(args);
    return inspect(args);
  },
};

async function list(argv: string[]): Promise<void> {
  parse(argv, {});
  await withStore(async (store) => printTable(await listModels(store)));
}

async function show(argv: string[]): Promise<void> {
  const [model, version, ...extra] = parse(argv, {}, true).positionals;
  if (!model || extra.length > 0) throw new UsageError("models show needs a model name and at most a version");
  await withStore(async (store) => {
    if (!version) {
      const versions = await listVersions(store, model);
      if (versions.length === 0) throw new UsageError(`unknown model '${model}'`);
      printTable(versions.map((v) => ({ version: v.version, kind: v.kind, status: v.status, created: v.createdAt, accuracy: v.metrics["accuracy"] })));
      return;
    }
    const v = await getVersion(store, model, version);
    console.log(JSON.stringify(v, null, 2));
  });
}

async function importFile(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, importOptions, true);
  const [file, extra] = positionals;
  if (!file || extra !== undefined) throw new UsageError("models import needs exactly one ONNX file");
  if (!values.name) throw new UsageError("--name is required");
  if (!values.reference) throw new UsageError("--reference <file.csv> is required: its rows become the drift baseline");
  const outputs = scoreKind(values.outputs);
  const r = await prepareImport({ model: values.name!, file, schemaFile: values.schema, reference: values.reference!, label: values.label, outputs });
  for (const line of r.inferred) console.log(`inferred: ${line}`);
  for (const rewrite of r.rewrites) console.log(`rewrote: ${describeRewrite(rewrite)}`);
  const { version, via } = await registerNewVersion(r.input);
  const accuracy = typeof version.metrics["accuracy"] === "number" ? `, reference accuracy ${((version.metrics["accuracy"] as number) * 100).toFixed(2)}%` : "";
  console.log(`registered ${version.model} v${version.version} (imported ${file}): baseline from ${r.referenceRows} reference rows${accuracy}, sha256 ${version.sha256.slice(0, 12)}…${throughServe(via)}`);
}

async function ensemble(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { method: { type: "string" }, weights: { type: "string" } }, true);
  const [model, ...versions] = positionals;
  if (!model || versions.length < 2) throw new UsageError(`models ensemble needs <model> and at least two versions; got ${versions.length}`);
  const method = (values.method ?? (values.weights ? "weighted" : "mean")) as EnsembleSpec["method"];
  if (!ensembleMethods.includes(method)) throw new UsageError(`--method must be ${ensembleMethods.join(", ")}, not '${values.method}'`);
  const weights = values.weights?.split(",").map(Number);
  if (method === "weighted" && (!weights || weights.length !== versions.length || !weights.every((w) => Number.isFinite(w) && w > 0))) {
    throw new UsageError(`--method weighted needs --weights with one positive number per version (${versions.length}), e.g. --weights ${versions.map(() => 1).join(",")}`);
  }
  if (method !== "weighted" && weights) throw new UsageError(`--weights apply to --method weighted, not ${method}`);
  const members = versions.map((v, i) => ({ version: v.replace(/^v(?=\d+$)/, ""), ...(weights ? { weight: weights[i]! } : {}) }));
  const { version, via } = await registerNewEnsemble({ model, spec: { method, members }, actor: "cli" });
  const accuracy = typeof version.metrics["accuracy"] === "number" ? `, reference accuracy ${((version.metrics["accuracy"] as number) * 100).toFixed(2)}%` : "";
  console.log(`registered ${version.model} v${version.version}: ${method} ensemble of ${members.map((m) => `v${m.version}`).join(", ")}${accuracy}${throughServe(via)}`);
}

async function inspect(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { schema: { type: "string" }, outputs: { type: "string" } }, true);
  const [file, extra] = positionals;
  if (!file || extra !== undefined) throw new UsageError("models inspect needs exactly one ONNX file");
  console.log(await inspectModelFile(file, { schemaFile: values.schema, outputs: scoreKind(values.outputs) }));
}

function scoreKind(value: string | undefined): "probabilities" | "logits" | undefined {
  if (value === undefined || value === "probabilities" || value === "logits") return value;
  throw new UsageError(`--outputs must be probabilities or logits, not '${value}'`);
}

async function compare(argv: string[]): Promise<void> {
  const [model, a, b, ...extra] = parse(argv, {}, true).positionals;
  if (!model || !a || !b || extra.length > 0) throw new UsageError("models compare needs <model> <versionA> <versionB>");
  await withStore(async (store) => {
    const [va, vb] = [await getVersion(store, model, a), await getVersion(store, model, b)];
    printTable(comparisonRows(va, vb));
  });
}

function comparisonRows(a: ModelVersion, b: ModelVersion): Record<string, unknown>[] {
  const scalar = (v: ModelVersion, k: string) => (typeof v.metrics[k] === "number" ? (v.metrics[k] as number) : undefined);
  const keys = [...new Set([...Object.keys(a.metrics), ...Object.keys(b.metrics)])].filter(
    (k) => scalar(a, k) !== undefined || scalar(b, k) !== undefined,
  );
  return [
    { metric: "kind", [`v${a.version}`]: a.kind, [`v${b.version}`]: b.kind, difference: "" },
    { metric: "status", [`v${a.version}`]: a.status, [`v${b.version}`]: b.status, difference: "" },
    ...keys.map((k) => {
      const [x, y] = [scalar(a, k), scalar(b, k)];
      return { metric: k, [`v${a.version}`]: x, [`v${b.version}`]: y, difference: x !== undefined && y !== undefined ? y - x : "" };
    }),
  ];
}
