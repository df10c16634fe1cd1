import { additiveShapley, enumeratedShapley, MAX_ENUMERATED_FEATURES, permutationShapley, permutationWalks, type ShapleyEstimate } from "../../stats/shapley.ts";
import { argmax } from "../evaluate.ts";
import type { Scorer } from "../import/io-scorer.ts";
import { Rng } from "../rng.ts";
import type { FeatureValue, ModelSchema, Row } from "../schema.ts";
import type { Background } from "./background.ts";
import { ExplainInputError } from "./check-row.ts";
import { additiveDesign, enumeratedDesign, permutationDesign } from "./designs.ts";
import { describeOutput, outputReader, type OutputReader, type OutputSpace } from "./output-space.ts";

export type ExplainMethod = "auto" | "exact" | "sampling";

export interface ExplainOptions {
  /** Class whose output is explained; default the predicted class. */
  class?: string;
  /** Default: logit for logistic models (exact there), probability otherwise. */
  output?: OutputSpace;
  method?: ExplainMethod;
  /** Sampling: permutation walks (rounded to whole antithetic pairs per background row). */
  permutations?: number;
  seed?: number;
}

export interface ExplainTarget {
  scorer: Scorer;
  model: string;
  version: string;
  /** "logistic", "mlp" or "imported". */
  kind: string;
  schema: ModelSchema;
}

export interface Attribution {
  feature: string;
  value: FeatureValue;
  attribution: number;
  /** Sampling error of the attribution; 0 for exact methods. */
  standardError: number;
}

export type MethodName = "exact-linear" | "exact-enumeration" | "permutation-sampling";

export interface Explanation {
  model: string;
  version: string;
  kind: string;
  class: string;
  predicted: string;
  probabilities: number[];
  output: { space: OutputSpace; description: string };
  method: { name: MethodName; description: string; evaluations: number; permutations: number | null; seed: number | null };
  background: { source: Background["source"]; rows: number; description: string };
  /** f(x) in the output space. */
  value: number;
  /** E[f] over the background rows. */
  expectedValue: number;
  /** Largest |attribution| first. */
  attributions: Attribution[];
  /** value − expectedValue − Σ attributions: 0 up to float rounding for the exact-linear and sampling methods. */
  additivityGap: number;
}

/** Bounds one explanation's scoring work; enumeration past it is refused, sampling sized under it. */
export const MAX_EVALUATIONS = 200_000;
export const DEFAULT_SAMPLING_EVALUATIONS = 20_000;
const CHUNK_ROWS = 8192;

/** Shapley attributions of one row's output, against the background, through the version's real session. */
export async function explainRow(target: ExplainTarget, row: Row, background: Background, options: ExplainOptions = {}): Promise<Explanation> {
  const { schema } = target;
  const names = schema.features.map((f) => f.name);
  const [xProba] = await scoreRows(target.scorer, [row], schema.classes.length);
  const probabilities = Array.from(xProba!);
  const predictedIndex = argmax(xProba!, 0, schema.classes.length);
  const classIndex = options.class === undefined ? predictedIndex : classIndexOf(schema, options.class);
  const linear = target.kind === "logistic";
  const space = options.output ?? (linear ? "logit" : "probability");
  const read = outputReader(space, classIndex, schema.classes.length);
  const method = chooseMethod(options.method ?? "auto", linear, space, names.length, background.rows.length);
  const { estimate, evaluations, permutations, seed } = await runMethod(method, target.scorer, read, row, background.rows, names, schema.classes.length, options);
  const value = read(xProba!, 0);
  const attributions = names
    .map((feature, i) => ({ feature, value: row[feature] ?? null, attribution: estimate.values[i]!, standardError: estimate.standardErrors[i]! }))
    .sort((a, b) => Math.abs(b.attribution) - Math.abs(a.attribution));
  return {
    model: target.model,
    version: target.version,
    kind: target.kind,
    class: schema.classes[classIndex]!,
    predicted: schema.classes[predictedIndex]!,
    probabilities,
    output: { space, description: describeOutput(space, schema.classes, classIndex) },
    method: { name: method, description: METHOD_DESCRIPTIONS[method], evaluations, permutations, seed },
    background: { source: background.source, rows: background.rows.length, description: background.description },
    value,
    expectedValue: estimate.base,
    attributions,
    additivityGap: value - estimate.base - estimate.values.reduce((a, b) => a + b, 0),
  };
}

const METHOD_DESCRIPTIONS: Record<MethodName, string> = {
  "exact-linear":
    "exact Shapley values of a linear model on its logit scale: φ_i = mean over background rows of f(b with feature i from x) − f(b), i.e. w_i·(x_i − E[x_i]) in the model's encoded space",
  "exact-enumeration": "exact Shapley values by enumerating every coalition of features, each averaged over the background rows",
  "permutation-sampling":
    "permutation sampling (antithetic pairs, every background row starting the same number of walks): attributions sum to f(x) − E[f] exactly; standardError is each one's sampling error",
};

function classIndexOf(schema: ModelSchema, name: string): number {
  const i = schema.classes.indexOf(name);
  if (i < 0) throw new ExplainInputError("class", `unknown class '${name}'; classes: ${schema.classes.join(", ")}`);
  return i;
}

/** auto: exact where the model is linear in the explained output, sampling elsewhere. */
function chooseMethod(requested: ExplainMethod, linear: boolean, space: OutputSpace, features: number, backgrounds: number): MethodName {
  const exactLinear = linear && space === "logit";
  if (requested === "sampling") return "permutation-sampling";
  if (requested === "auto") return exactLinear ? "exact-linear" : "permutation-sampling";
  if (exactLinear) return "exact-linear";
  if (features > MAX_ENUMERATED_FEATURES || 2 ** features * backgrounds > MAX_EVALUATIONS) {
    throw new ExplainInputError(
      "method",
      `exact values need enumerating 2^${features} coalitions × ${backgrounds} background rows, over the ${MAX_EVALUATIONS} evaluations allowed; use method 'sampling'${linear ? " or output 'logit'" : ""}`,
    );
  }
  return "exact-enumeration";
}

async function runMethod(
  method: MethodName,
  scorer: Scorer,
  read: OutputReader,
  x: Row,
  background: readonly Row[],
  names: readonly string[],
  classes: number,
  options: ExplainOptions,
): Promise<{ estimate: ShapleyEstimate; evaluations: number; permutations: number | null; seed: number | null }> {
  const d = names.length;
  const n = background.length;
  if (method === "exact-linear") {
    const values = await evaluate(scorer, additiveDesign(x, background, names), read, classes);
    return { estimate: additiveShapley(d, n, values), evaluations: values.length, permutations: null, seed: null };
  }
  if (method === "exact-enumeration") {
    const values = await evaluate(scorer, enumeratedDesign(x, background, names), read, classes);
    return { estimate: enumeratedShapley(d, n, values), evaluations: values.length, permutations: null, seed: null };
  }
  const seed = options.seed ?? 1;
  const pairs = pairsPerBackground(options.permutations, d, n);
  const rng = new Rng(seed);
  const walks = permutationWalks(d, n, pairs, () => rng.next());
  const values = await evaluate(scorer, permutationDesign(x, background, names, walks), read, classes);
  return { estimate: permutationShapley(walks, d, values), evaluations: values.length, permutations: walks.length, seed };
}

function pairsPerBackground(permutations: number | undefined, features: number, backgrounds: number): number {
  const wanted = permutations ?? Math.floor(DEFAULT_SAMPLING_EVALUATIONS / (features + 1));
  const affordable = Math.floor(MAX_EVALUATIONS / ((features + 1) * 2 * backgrounds));
  if (affordable < 1) throw new ExplainInputError("backgroundRows", `one permutation pair per background row needs ${2 * backgrounds * (features + 1)} evaluations, over ${MAX_EVALUATIONS}; use fewer background rows`);
  return Math.max(1, Math.min(affordable, Math.round(wanted / (2 * backgrounds))));
}

async function evaluate(scorer: Scorer, rows: readonly Row[], read: OutputReader, classes: number): Promise<Float64Array> {
  const out = new Float64Array(rows.length);
  for (let start = 0; start < rows.length; start += CHUNK_ROWS) {
    const chunk = rows.slice(start, start + CHUNK_ROWS);
    const proba = await scorer.run(scorer.encode(chunk), chunk.length);
    if (proba.length !== chunk.length * classes) throw new Error(`the model returned ${proba.length} scores for ${chunk.length} rows × ${classes} classes`);
    for (let r = 0; r < chunk.length; r++) out[start + r] = read(proba, r);
  }
  return out;
}

async function scoreRows(scorer: Scorer, rows: readonly Row[], classes: number): Promise<Float32Array[]> {
  const proba = await scorer.run(scorer.encode(rows), rows.length);
  return rows.map((_, r) => proba.slice(r * classes, (r + 1) * classes));
}
