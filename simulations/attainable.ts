import { imputationFill } from "../models/baseline.ts";
import { encodeRows } from "../models/encode.ts";
import { argmax } from "../models/evaluate.ts";
import { predictProba } from "../models/predict.ts";
import { subSeed } from "../models/rng.ts";
import type { Example, ModelSchema } from "../models/schema.ts";
import { trainModel } from "../models/train.ts";
import type { Scenario } from "./scenario.ts";
import { TrafficSource, type ActiveInjection } from "./traffic.ts";

/** Rows drawn from the post-fault population to train the attainable model: ample, as training was. */
const ATTAINABLE_ROWS = 20_000;
/** A value seen this often in the drawn rows joins the schema, as a retrain's new categories do. */
const NEW_CATEGORY_MIN_COUNT = 20;

/** The accuracy the attainable model scores on answered requests; null for none. */
export type AttainableScorer = (scored: readonly Example[]) => number | null;

/**
 * What a model of the same kind could score on the post-fault population: trained on fresh rows
 * drawn with every data fault of the scenario fully on (the simulation owns the generator and the
 * faults), to be scored on requests the service actually answered. Infrastructure faults and bad
 * deploys do not change the population, so for them this is a healthy model's accuracy.
 */
export function attainableModel(scenario: Scenario, schema: ModelSchema, reference: ConstructorParameters<typeof TrafficSource>[2]): AttainableScorer {
  const injections = scenario.phases.flatMap((p) => p.inject).filter((i) => ["covariate_shift", "concept_drift", "new_category", "missing_values"].includes(i.type));
  const active: ActiveInjection[] = injections.map((injection) => ({ injection: { ...injection, rampRequests: 0 }, start: 0 }));
  const source = new TrafficSource({ ...scenario, seed: subSeed(scenario.seed, "attainable") }, schema, reference, ATTAINABLE_ROWS);
  const examples = Array.from({ length: ATTAINABLE_ROWS }, (_, i) => source.item(i, active));
  const extended = withNewCategories(schema, examples);
  const trained = trainModel({ dataset: { name: `${scenario.name} post-fault`, schema: extended, examples }, kind: scenario.model.kind, seed: scenario.seed });
  const fill = imputationFill(trained.baseline.features, extended);
  const classes = extended.classes.length;
  return (scored) => {
    if (scored.length === 0) return null;
    const proba = predictProba(trained.weights, encodeRows(scored.map((e) => e.row), extended, fill), scored.length);
    return scored.filter((e, r) => argmax(proba, r * classes, classes) === e.label).length / scored.length;
  };
}

function withNewCategories(schema: ModelSchema, examples: readonly Example[]): ModelSchema {
  const features = schema.features.map((f) => {
    if (f.type !== "categorical") return f;
    const counts = new Map<string, number>();
    for (const e of examples) {
      const v = e.row[f.name];
      if (typeof v === "string" && !f.categories.includes(v)) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    return { ...f, categories: [...f.categories, ...[...counts].filter(([, n]) => n >= NEW_CATEGORY_MIN_COUNT).map(([v]) => v).sort()] };
  });
  return { features, classes: schema.classes, label: schema.label };
}
