import type { Command } from "../command.ts";
import { parse, UsageError } from "../command.ts";
import { registerNewVersion, throughServe } from "../register-version.ts";
import { makeDataset, type DatasetSpec } from "../../models/datasets/index.ts";
import { newVersionOf, trainModel } from "../../models/train.ts";

const usage = `usage: mlwatch train --name <model> [options]

  --dataset credit|hyperplane   synthetic data set (default credit)
  --csv <file> --label <col>    train on a CSV file instead, predicting column <col>
  --model logistic|mlp          model kind (default logistic)
  --rows <n>                    rows to generate or sample (default 20000)
  --seed <n>                    seed for data, split and initialisation (default 1)

Trains, evaluates on a held-out split, exports ONNX, computes the drift baseline and registers a
new version (status staging). While \`mlwatch serve\` owns the store, the version is registered
through its admin API (MLWATCH_INFERENCE_URL, MLWATCH_ADMIN_TOKEN), with serve still serving.`;

const options = {
  name: { type: "string" },
  dataset: { type: "string", default: "credit" },
  csv: { type: "string" },
  label: { type: "string" },
  model: { type: "string", default: "logistic" },
  rows: { type: "string", default: "20000" },
  seed: { type: "string", default: "1" },
} as const;

export const trainCommand: Command = {
  name: "train",
  summary: "train a model, export ONNX and register a new version",
  usage,
  async run(argv) {
    const { values } = parse(argv, options);
    if (!values.name) throw new UsageError("--name is required");
    const kind = values.model;
    if (kind !== "logistic" && kind !== "mlp") throw new UsageError(`--model must be logistic or mlp, not '${kind}'`);
    const rows = positiveInt("--rows", values.rows);
    const seed = positiveInt("--seed", values.seed);
    const dataset = makeDataset(datasetSpec(values), rows, seed);
    const trained = trainModel({ dataset, kind, seed });
    const { version, via } = await registerNewVersion(newVersionOf(values.name as string, kind, trained, dataset.examples));
    console.log(
      `registered ${version.model} v${version.version} (${kind}, ${dataset.name}): held-out accuracy ${(trained.metrics.accuracy * 100).toFixed(2)}% on ${trained.metrics.testRows} rows, sha256 ${version.sha256.slice(0, 12)}…${throughServe(via)}`,
    );
  },
};

function datasetSpec(values: { dataset?: string; csv?: string; label?: string }): DatasetSpec {
  if (values.csv) {
    if (!values.label) throw new UsageError("--csv needs --label <column>");
    return { csv: values.csv, label: values.label };
  }
  if (values.dataset !== "credit" && values.dataset !== "hyperplane") {
    throw new UsageError(`--dataset must be credit or hyperplane, not '${values.dataset}'`);
  }
  return { generator: values.dataset };
}

function positiveInt(flag: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag} must be a positive whole number, not '${text}'`);
  return n;
}
