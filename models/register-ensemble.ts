import type { Store } from "../store/client.ts";
import { computeBaseline, featureBaselines } from "./baseline.ts";
import { ensembleArtifact, EnsembleError, ensembleSchema, ensembleScorer, type EnsembleSpec } from "./ensemble.ts";
import { openAll } from "./explain/open-scorer.ts";
import type { Scorer } from "./import/io-scorer.ts";
import { permutationImportance } from "./importance.ts";
import { readReferenceSample } from "./reference-sample.ts";
import { getVersion, registerVersion, RegistryError, type ModelVersion } from "./registry.ts";
import type { Example, ModelSchema } from "./schema.ts";

export interface NewEnsemble {
  model: string;
  spec: EnsembleSpec;
  tags?: string[];
  actor?: string;
}

/** Seed of the ensemble's baseline samples: fixed, so registering the same ensemble twice gives the same baseline. */
const BASELINE_SEED = 1;
const CHUNK_ROWS = 4096;

/**
 * Registers an ensemble of registered versions as a version of its own, through registerVersion like
 * every other. Its baseline (drift reference, reference accuracy, CBPE calibration) and importances
 * come from scoring a member's reference sample through the ensemble, with the members' real
 * sessions; that sample is usually the member's training data, so the reference accuracy reads
 * higher than held-out data would show.
 */
export async function registerEnsemble(store: Store, modelDir: string, input: NewEnsemble): Promise<ModelVersion> {
  const members = await Promise.all(input.spec.members.map((m, i) => memberVersion(store, input.model, m.version, i)));
  const schema = ensembleSchema(input.spec, members);
  const { examples, from } = await referenceOf(store, members, schema);
  const scorers = await openAll(store, input.model, members.map((m) => m.version));
  try {
    const scorer = ensembleScorer(input.spec, scorers, schema.classes.length);
    const proba = await scoreAll(scorer, examples, schema.classes.length);
    const baseline = computeBaseline(featureBaselines(examples.map((e) => e.row), schema, BASELINE_SEED), { proba, labels: examples.map((e) => e.label), classes: schema.classes.length }, BASELINE_SEED);
    return await registerVersion(store, modelDir, {
      model: input.model,
      kind: "ensemble",
      onnx: ensembleArtifact(input.spec),
      schema,
      metrics: { accuracy: baseline.accuracy, method: input.spec.method, members: input.spec.members, evaluatedOn: `the reference sample of version ${from} (${examples.length} rows)` },
      trainingData: { ensembleOf: members.map((m) => m.version), reference: `version ${from}` },
      baseline,
      reference: examples,
      importance: await permutationImportance(scorer, schema, examples),
      tags: input.tags,
      actor: input.actor,
    });
  } finally {
    await Promise.all(scorers.map((s) => s.release()));
  }
}

async function memberVersion(store: Store, model: string, version: string, i: number): Promise<ModelVersion> {
  try {
    return await getVersion(store, model, version);
  } catch (err) {
    if (err instanceof RegistryError) throw new EnsembleError(err.message, `members.${i}.version`);
    throw err;
  }
}

/** The first member's reference sample that has rows. */
async function referenceOf(store: Store, members: readonly ModelVersion[], schema: ModelSchema): Promise<{ examples: Example[]; from: string }> {
  for (const m of members) {
    const examples = await readReferenceSample(store, m.model, m.version, schema);
    if (examples.length > 0) return { examples, from: m.version };
  }
  throw new EnsembleError(`none of versions ${members.map((m) => m.version).join(", ")} kept a reference sample (registered before samples were kept) to build the ensemble's baseline from`, "members");
}

async function scoreAll(scorer: Scorer, examples: readonly Example[], classes: number): Promise<Float32Array> {
  const out = new Float32Array(examples.length * classes);
  for (let start = 0; start < examples.length; start += CHUNK_ROWS) {
    const rows = examples.slice(start, start + CHUNK_ROWS).map((e) => e.row);
    out.set(await scorer.run(scorer.encode(rows), rows.length), start * classes);
  }
  return out;
}
