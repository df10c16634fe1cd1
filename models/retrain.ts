import { mcnemar } from "../stats/mcnemar.ts";
import type { Store } from "../store/client.ts";
import { imputationFill } from "./baseline.ts";
import { encodeRows } from "./encode.ts";
import { argmax } from "./evaluate.ts";
import { predictProba } from "./predict.ts";
import { getVersion, registerVersion, RegistryError, type ModelVersion } from "./registry.ts";
import type { Dataset, Example, FeatureSpec, ModelSchema, Row } from "./schema.ts";
import { trainModel } from "./train.ts";

export interface RetrainRequest {
  model: string;
  /** The version whose schema the candidate keeps (new categories may be added). */
  baseVersion: string;
  fromUs: number;
  toUs: number;
  kind?: "logistic" | "mlp";
  seed?: number;
  minRows?: number;
  maxRows?: number;
  actor: string;
  reason: string;
}

export interface RetrainResult {
  version: ModelVersion;
  trainedOnRows: number;
  /** On the newest labelled rows of the window, held out from training. */
  heldOutAccuracy: number;
  /** What the versions that served those same held-out rows got right: the bar the candidate must clear. */
  servingAccuracy: number;
  /** McNemar's test on those rows: only the rows one side got right and the other wrong count. */
  comparison: { candidateOnlyRight: number; servingOnlyRight: number; pValue: number };
  addedCategories: Record<string, string[]>;
}

/** A category unseen in training becomes part of the new schema once it is this common. */
const NEW_CATEGORY_MIN_COUNT = 20;

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

/**
 * Trains a candidate on what the model has recently seen and been told: the logged inputs joined
 * to their labels. The candidate is only registered (status staging); shadowing, comparing and
 * promoting it are separate, approved steps.
 */
export async function retrainFromLog(store: Store, modelDir: string, r: RetrainRequest): Promise<RetrainResult> {
  const base = await getVersion(store, r.model, r.baseVersion);
  const numeric = base.schema.features.filter((f) => f.type === "numeric");
  const categorical = base.schema.features.filter((f) => f.type === "categorical");
  const rows = await store.rows<{ num: (number | null)[]; cat: string[]; predicted: string; label: string }>(
    LABELLED_ROWS_SQL(store.table("predictions"), store.table("labels")),
    { model: r.model, fromUs: r.fromUs, toUs: r.toUs, numeric: numeric.length, categorical: categorical.length, maxRows: r.maxRows ?? 50_000 },
  );
  const minRows = r.minRows ?? 500;
  if (rows.length < minRows) {
    throw new RegistryError(
      `retraining '${r.model}' needs at least ${minRows} labelled rows with raw features in the window; found ${rows.length}` +
        (rows.length === 0 ? " (with MLWATCH_LOG_FEATURES=hash no raw features are kept)" : ""),
    );
  }
  // Oldest first: the newest rows are held out, and the candidate is judged on what came last.
  const chronological = rows.reverse();
  const decoded = chronological.map((x) => decode(x, numeric, categorical));
  const { schema, added } = extendCategories(base.schema, decoded.map((d) => d.row));
  const classIndex = new Map(schema.classes.map((c, i) => [c, i]));
  const labelled = decoded.flatMap((d, i) => {
    const label = classIndex.get(chronological[i]!.label);
    return label === undefined ? [] : [{ example: { row: d.row, label } satisfies Example, servedRight: chronological[i]!.predicted === chronological[i]!.label }];
  });
  const examples = labelled.map((l) => l.example);
  const dataset: Dataset = { name: `${r.model} log ${new Date(r.fromUs / 1000).toISOString()}…${new Date(r.toUs / 1000).toISOString()}`, schema, examples };
  const kind = r.kind ?? (base.kind === "mlp" ? "mlp" : "logistic");
  const trained = trainModel({ dataset, kind, seed: r.seed ?? 1, holdout: "newest" });
  const version = await registerVersion(store, modelDir, {
    model: r.model,
    kind,
    onnx: trained.onnx,
    schema: trained.schema,
    metrics: trained.metrics,
    trainingData: { ...trained.trainingData, source: "prediction log", baseVersion: r.baseVersion, fromUs: r.fromUs, toUs: r.toUs },
    baseline: trained.baseline,
    tags: ["retrained", `from:${r.baseVersion}`],
    actor: r.actor,
  });
  const heldOut = labelled.slice(-trained.metrics.testRows);
  const servingAccuracy = heldOut.filter((l) => l.servedRight).length / heldOut.length;
  const candidateRight = rightOnes(trained, heldOut.map((l) => l.example));
  const candidateOnlyRight = heldOut.filter((l, i) => candidateRight[i] && !l.servedRight).length;
  const servingOnlyRight = heldOut.filter((l, i) => !candidateRight[i] && l.servedRight).length;
  const comparison = { candidateOnlyRight, servingOnlyRight, pValue: mcnemar(candidateOnlyRight, servingOnlyRight).pValue };
  return { version, trainedOnRows: examples.length, heldOutAccuracy: trained.metrics.accuracy, servingAccuracy, comparison, addedCategories: added };
}

/** Which of the examples the trained model classifies right, imputing as serving will. */
function rightOnes(trained: ReturnType<typeof trainModel>, examples: Example[]): boolean[] {
  const fill = imputationFill(trained.baseline.features, trained.schema);
  const classes = trained.schema.classes.length;
  const proba = predictProba(trained.weights, encodeRows(examples.map((e) => e.row), trained.schema, fill), examples.length);
  return examples.map((e, r) => argmax(proba, r * classes, classes) === e.label);
}

function decode(x: { num: (number | null)[]; cat: string[] }, numeric: FeatureSpec[], categorical: FeatureSpec[]): { row: Row } {
  const row: Row = {};
  numeric.forEach((f, i) => (row[f.name] = x.num[i] ?? null));
  categorical.forEach((f, i) => (row[f.name] = x.cat[i] || null));
  return { row };
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
