import type { Store } from "../../store/client.ts";
import { makeDataset, type DatasetSpec } from "../../models/datasets/index.ts";
import type { Dataset } from "../../models/schema.ts";
import { registerVersion, type ModelVersion } from "../../models/registry.ts";
import { Rng } from "../../models/rng.ts";
import type { ModelSchema } from "../../models/schema.ts";
import { trainModel } from "../../models/train.ts";

export interface TrainOptions {
  model: string;
  kind?: "logistic" | "mlp";
  dataset?: DatasetSpec;
  /** A ready data set instead of a generator spec. */
  data?: Dataset;
  rows?: number;
  seed?: number;
  /** Register the artifact under another schema: a version whose session fails at run time. */
  schemaOverride?: ModelSchema;
  /** false: register without reference examples, as versions were before importance was kept (default true). */
  keepReference?: boolean;
}

/** Trains for real and registers for real; small row counts keep a test file fast. */
export async function registerTrained(store: Store, modelDir: string, o: TrainOptions): Promise<ModelVersion> {
  const dataset = o.data ?? makeDataset(o.dataset ?? { generator: "credit" }, o.rows ?? 3000, o.seed ?? 1);
  const kind = o.kind ?? "logistic";
  const trained = trainModel({ dataset, kind, seed: o.seed ?? 1 });
  return registerVersion(store, modelDir, {
    model: o.model,
    kind,
    onnx: trained.onnx,
    schema: o.schemaOverride ?? trained.schema,
    metrics: trained.metrics,
    trainingData: trained.trainingData,
    baseline: trained.baseline,
    // A version registered under another schema cannot score its examples, so registration would
    // refuse it; without examples nothing is scored, and its session fails only once it serves.
    ...(o.schemaOverride || o.keepReference === false ? {} : { reference: dataset.examples }),
  });
}

/** Flips `rate` of the "no" labels to "yes": trained on it, a model over-predicts default (≈74% vs ≈95% accuracy on real traffic at 0.4). */
export function labelNoised(d: Dataset, rate: number, seed: number): Dataset {
  const rng = new Rng(seed);
  return { ...d, name: `${d.name} with ${rate} of class 0 relabelled 1`, examples: d.examples.map((e) => ({ ...e, label: e.label === 0 && rng.next() < rate ? 1 : e.label })) };
}
