import { Rng } from "../rng.ts";
import type { Dataset } from "../schema.ts";
import { generateCredit, type CreditOptions } from "./credit.ts";
import { loadCsv } from "./csv.ts";
import { generateHyperplane, type HyperplaneOptions } from "./hyperplane.ts";

export type DatasetSpec =
  | ({ generator: "credit" } & CreditOptions)
  | ({ generator: "hyperplane" } & HyperplaneOptions)
  | { csv: string; label: string };

/** Rows a generator draws when the caller does not say. */
export const DEFAULT_GENERATED_ROWS = 10_000;

/**
 * n rows from a generator, or from a CSV file: the whole file when n is undefined, otherwise n
 * rows drawn with replacement (seeded), so any size can be asked of a small file.
 */
export function makeDataset(spec: DatasetSpec, n: number | undefined, seed: number): Dataset {
  if ("csv" in spec) return n === undefined ? loadCsv(spec.csv, spec.label) : resample(loadCsv(spec.csv, spec.label), n, seed);
  const rows = n ?? DEFAULT_GENERATED_ROWS;
  return spec.generator === "credit" ? generateCredit(rows, seed, spec) : generateHyperplane(rows, seed, spec);
}

function resample(dataset: Dataset, n: number, seed: number): Dataset {
  const source = dataset.examples;
  if (source.length === 0) throw new Error(`${dataset.name}: no data rows to sample from`);
  const rng = new Rng(seed);
  const examples = Array.from({ length: n }, () => source[rng.int(source.length)]!);
  return { name: `${dataset.name} sampled n=${n} seed=${seed}`, schema: dataset.schema, examples };
}
