import { mcnemar } from "../stats/mcnemar.ts";
import type { Store } from "../store/client.ts";
import { imputationFill } from "./baseline.ts";
import { encodeRows } from "./encode.ts";
import { argmax, evaluate, type Evaluation } from "./evaluate.ts";
import { predictProba } from "./predict.ts";
import { readReferenceSample } from "./reference-sample.ts";
import { getVersion, registerVersion, RegistryError, type ModelVersion } from "./registry.ts";
import { reweightReference } from "./reweight.ts";
import type { Dataset, Example, FeatureSpec, ModelSchema, Row } from "./schema.ts";
import type { TrainResult } from "./train.ts";
import { trainOffThread } from "./train-off-thread.ts";
import type { ModelKind } from "./train/network.ts";

export interface RetrainRequest {
  model: string;
  /** The version whose schema the candidate keeps (new categories may be added) and whose reference sample it may reuse. */
  baseVersion: string;
  /** From the change point: rows before it belong to the old population. */
  fromUs: number;
  toUs: number;
  /** One kind only; by default a network's candidates compete with logistic ones (see retrainFromLog). */
  kind?: ModelKind;
  seed?: number;
  minRows?: number;
  maxRows?: number;
  actor: string;
  reason: string;
}

export type RecipeName = "log_only" | "log_newest_half" | "log_plus_reference" | "log_plus_more_reference";

export interface RecipeScore {
  recipe: RecipeName;
  kind: ModelKind;
  trainRows: number;
  /** On the newest post-change rows, held out from every recipe's training. */
  heldOutAccuracy: number;
}

export interface RetrainResult {
  version: ModelVersion;
  trainedOnRows: number;
  /** Labelled, answered rows since the change point. */
  postChangeRows: number;
  recipe: RecipeName;
  kind: ModelKind;
  candidates: RecipeScore[];
  /** How the reference sample was reweighted; null when the base version kept none. */
  reweighting: { referenceRows: number; domainBalancedAccuracy: number; effectiveShare: number } | null;
  /** The chosen recipe's accuracy on the held-out newest rows. */
  heldOutAccuracy: number;
  heldOutRows: number;
  /** What the versions that served those same rows got right. */
  servingAccuracy: number;
  /** McNemar's test on those rows; informative only: the rollout's shadow stage is the gate. */
  comparison: { candidateOnlyRight: number; servingOnlyRight: number; pValue: number };
  addedCategories: Record<string, string[]>;
}

/** A category unseen in training becomes part of the new schema once it is this common. */
const NEW_CATEGORY_MIN_COUNT = 20;
/** Share of post-change rows (the newest) held out to choose the recipe. */
const SELECTION_SHARE = 0.2;

/** Newest labelled, successfully answered rows of the window; raw features are required. */
const LABELLED_ROWS_SQL = (predictions: string, labels: string) => `
  SELECT p.feature_num AS num, p.feature_cat AS cat, p.predicted AS predicted, l.label AS label
  FROM ${predictions} AS p FINAL
  INNER JOIN ${labels} AS l FINAL ON l.request_id = p.request_id AND l.model = p.model
  WHERE p.model = {model:String} AND p.variant != 'shadow' AND p.error = ''
    AND p.ts >= fromUnixTimestamp64Micro({fromUs:Int64}) AND p.ts < fromUnixTimestamp64Micro({toUs:Int64})
    AND length(p.feature_num) = {numeric:UInt32} AND length(p.feature_cat) = {categorical:UInt32}
  ORDER BY p.ts DESC
  LIMIT {maxRows:UInt32}`;

interface Labelled {
  example: Example;
  servedRight: boolean;
}

/**
 * Trains a candidate for the population since the change point. Four recipes compete: the
 * post-change log alone; its newest half; the log plus the base version's reference sample reweighted toward the
 * current inputs, as many rows as the log; and the same with four times as many. For a network,
 * each recipe also trains as logistic regression: after a concept change only the post-change rows
 * teach, often a thousand or so, and a network trained on that few can lose to the simpler model
 * (a sudden flip retrained as a network ended 6 points short of what ample rows allow). Each is
 * judged on the newest post-change rows, held out from all; the best is retrained on every
 * post-change row and registered (status staging). Proving it on live traffic is the rollout's job.
 */
export async function retrainFromLog(store: Store, modelDir: string, r: RetrainRequest): Promise<RetrainResult> {
  const base = await getVersion(store, r.model, r.baseVersion);
  const post = await postChangeRows(store, base.schema, r);
  const { schema, added } = extendCategories(base.schema, post.rows);
  const labelled = labelledExamples(post.rows, post.raw, schema);
  const seed = r.seed ?? 1;
  const kinds: ModelKind[] = r.kind ? [r.kind] : base.kind === "mlp" ? ["mlp", "logistic"] : ["logistic"];
  const reference = await readReferenceSample(store, r.model, r.baseVersion, schema);
  const heldOutRows = Math.max(1, Math.round(labelled.length * SELECTION_SHARE));
  const learn = labelled.slice(0, -heldOutRows);
  const heldOut = labelled.slice(-heldOutRows);

  const selection = recipes(learn.map((l) => l.example), reference, schema, seed);
  const evaluateOn = heldOut.map((l) => l.example);
  const tried = kinds.flatMap((kind) => selection.sets.map((set) => ({ recipe: set.recipe, kind, examples: set.examples })));
  const results = await trainOffThread(tried.map((c) => ({ dataset: dataset(r, schema, c.examples), kind: c.kind, seed, evaluateOn })));
  const scored = tried.map((c, i) => {
    const right = rightOnes(results[i]!, evaluateOn);
    return { recipe: c.recipe, kind: c.kind, trainRows: c.examples.length, heldOutAccuracy: share(right), right, trained: results[i]! };
  });
  // The most accurate on the newest rows; among equals the one with more data, which varies less, then the base version's kind.
  const best = scored.reduce((a, b) => (b.heldOutAccuracy > a.heldOutAccuracy || (b.heldOutAccuracy === a.heldOutAccuracy && b.trainRows > a.trainRows) ? b : a));
  const kind = best.kind;
  const final = recipes(labelled.map((l) => l.example), reference, schema, seed).sets.find((s) => s.recipe === best.recipe)!;
  // The refit learns from the held-out rows too, so its own predictions on them are in-sample: the
  // registered metrics and prediction baseline are the chosen recipe's, measured before it saw them;
  // the feature statistics (what serving imputes and bins with) are the refit's own.
  const trained = (await trainOffThread([{ dataset: dataset(r, schema, final.examples), kind, seed, evaluateOn }]))[0]!;
  const version = await registerVersion(store, modelDir, {
    model: r.model,
    kind,
    onnx: trained.onnx,
    schema: trained.schema,
    // What the version should do on the traffic it will serve: the chosen recipe on the newest
    // post-change rows. The refit's own split is of a mix that may be mostly reference rows.
    metrics: { ...evaluationOn(best.trained, evaluateOn), trainRows: final.examples.length, testRows: heldOutRows },
    trainingData: { ...trained.trainingData, source: "prediction log", recipe: best.recipe, baseVersion: r.baseVersion, fromUs: r.fromUs, toUs: r.toUs },
    baseline: { ...best.trained.baseline, size: trained.baseline.size, features: trained.baseline.features },
    tags: ["retrained", `from:${r.baseVersion}`],
    actor: r.actor,
    reference: final.examples,
  });
  const candidateOnlyRight = heldOut.filter((l, i) => best.right[i] && !l.servedRight).length;
  const servingOnlyRight = heldOut.filter((l, i) => !best.right[i] && l.servedRight).length;
  return {
    version,
    trainedOnRows: final.examples.length,
    postChangeRows: labelled.length,
    recipe: best.recipe,
    kind,
    candidates: scored.map(({ recipe, kind, trainRows, heldOutAccuracy }) => ({ recipe, kind, trainRows, heldOutAccuracy })),
    reweighting: selection.reweighting,
    heldOutAccuracy: best.heldOutAccuracy,
    heldOutRows,
    servingAccuracy: share(heldOut.map((l) => l.servedRight)),
    comparison: { candidateOnlyRight, servingOnlyRight, pValue: mcnemar(candidateOnlyRight, servingOnlyRight).pValue },
    addedCategories: added,
  };
}

async function postChangeRows(store: Store, schema: ModelSchema, r: RetrainRequest) {
  const numeric = schema.features.filter((f) => f.type === "numeric");
  const categorical = schema.features.filter((f) => f.type === "categorical");
  const raw = await store.rows<{ num: (number | null)[]; cat: string[]; predicted: string; label: string }>(
    LABELLED_ROWS_SQL(store.table("predictions"), store.table("labels")),
    { model: r.model, fromUs: r.fromUs, toUs: r.toUs, numeric: numeric.length, categorical: categorical.length, maxRows: r.maxRows ?? 50_000 },
  );
  const minRows = r.minRows ?? 500;
  if (raw.length < minRows) {
    throw new RegistryError(
      `retraining '${r.model}' needs at least ${minRows} labelled rows with raw features since the change point; found ${raw.length}` +
        (raw.length === 0 ? " (with MLWATCH_LOG_FEATURES=hash no raw features are kept)" : ""),
    );
  }
  // Oldest first: the newest rows are held out, and the candidate is judged on what came last.
  raw.reverse();
  return { raw, rows: raw.map((x) => decode(x, numeric, categorical)) };
}

function labelledExamples(rows: Row[], raw: { predicted: string; label: string }[], schema: ModelSchema): Labelled[] {
  const classIndex = new Map(schema.classes.map((c, i) => [c, i]));
  return rows.flatMap((row, i) => {
    const label = classIndex.get(raw[i]!.label);
    return label === undefined ? [] : [{ example: { row, label }, servedRight: raw[i]!.predicted === raw[i]!.label }];
  });
}

function recipes(log: Example[], reference: Example[], schema: ModelSchema, seed: number) {
  // The newest half competes because a ramp that ended inside the window leaves its older rows on the way
  // to the new concept; judged on the newest rows, it wins only when that mixture costs more than the rows.
  const sets: { recipe: RecipeName; examples: Example[] }[] = [
    { recipe: "log_only", examples: log },
    { recipe: "log_newest_half", examples: log.slice(Math.floor(log.length / 2)) },
  ];
  if (reference.length === 0) return { sets, reweighting: null };
  const more = reweightReference(reference, log, schema, Math.min(reference.length, 4 * log.length), seed);
  sets.push({ recipe: "log_plus_reference", examples: [...log, ...more.examples.slice(0, log.length)] });
  sets.push({ recipe: "log_plus_more_reference", examples: [...log, ...more.examples] });
  return { sets, reweighting: { referenceRows: reference.length, domainBalancedAccuracy: more.domainBalancedAccuracy, effectiveShare: more.effectiveShare } };
}

function dataset(r: RetrainRequest, schema: ModelSchema, examples: Example[]): Dataset {
  return { name: `${r.model} since ${new Date(r.fromUs / 1000).toISOString()}`, schema, examples };
}

/** Which of the examples the trained model classifies right, imputing as serving will. */
function probaOf(trained: TrainResult, examples: Example[]): Float32Array {
  const fill = imputationFill(trained.baseline.features, trained.schema);
  return predictProba(trained.weights, encodeRows(examples.map((e) => e.row), trained.schema, fill), examples.length);
}

function rightOnes(trained: TrainResult, examples: Example[]): boolean[] {
  const classes = trained.schema.classes.length;
  const proba = probaOf(trained, examples);
  return examples.map((e, r) => argmax(proba, r * classes, classes) === e.label);
}

function evaluationOn(trained: TrainResult, examples: Example[]): Evaluation {
  return evaluate(probaOf(trained, examples), Int32Array.from(examples, (e) => e.label), trained.schema.classes);
}

function share(flags: boolean[]): number {
  return flags.length === 0 ? 0 : flags.filter(Boolean).length / flags.length;
}

function decode(x: { num: (number | null)[]; cat: string[] }, numeric: FeatureSpec[], categorical: FeatureSpec[]): Row {
  const row: Row = {};
  numeric.forEach((f, i) => (row[f.name] = x.num[i] ?? null));
  categorical.forEach((f, i) => (row[f.name] = x.cat[i] || null));
  return row;
}

/** Categories that became common since training join the schema, so the candidate can learn them. */
function extendCategories(schema: ModelSchema, rows: Row[]): { schema: ModelSchema; added: Record<string, string[]> } {
  const added: Record<string, string[]> = {};
  const features = schema.features.map((f) => {
    if (f.type !== "categorical") return f;
    const counts = new Map<string, number>();
    for (const row of rows) {
      const v = row[f.name];
      if (typeof v === "string" && !f.categories.includes(v)) counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    const fresh = [...counts].filter(([, n]) => n >= NEW_CATEGORY_MIN_COUNT).map(([v]) => v).sort();
    if (fresh.length > 0) added[f.name] = fresh;
    return { ...f, categories: [...f.categories, ...fresh] };
  });
  // The candidate is a native mlwatch model: an imported version's io mapping does not describe it.
  return { schema: { features, classes: schema.classes, label: schema.label }, added };
}
