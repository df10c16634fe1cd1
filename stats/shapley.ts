// Shapley value estimators for a value function the caller evaluates in batches (a model session
// runs thousands of rows in one call, so the design lists every point first and the estimator
// reads the values afterwards). Interventional form: a feature "absent" takes a background row's value.

/** One walk from a background row to the explained row, switching features over in `order`. */
export interface PermutationWalk {
  readonly background: number;
  readonly order: readonly number[];
}

export interface ShapleyEstimate {
  /** Attribution per feature, in feature order. */
  readonly values: number[];
  /** Standard error per feature (0 for an exact method). */
  readonly standardErrors: number[];
  /** Mean value of the background rows: E[f] over the background. */
  readonly base: number;
}

/**
 * Antithetic walks: each random order is followed by its reverse (which halves the variance for
 * nearly additive functions), and every background row starts the same number of walks, so the
 * estimate's base is the exact mean over the background and additivity holds without sampling error.
 */
export function permutationWalks(features: number, backgrounds: number, pairsPerBackground: number, random: () => number): PermutationWalk[] {
  checkPositive("permutationWalks", { features, backgrounds, pairsPerBackground });
  const walks: PermutationWalk[] = [];
  for (let b = 0; b < backgrounds; b++) {
    for (let k = 0; k < pairsPerBackground; k++) {
      const order = shuffledRange(features, random);
      walks.push({ background: b, order }, { background: b, order: [...order].reverse() });
    }
  }
  return walks;
}

/**
 * Which features come from the explained row at step s (0..features) of a walk: the first s of its
 * order. Values are laid out walk after walk, features + 1 points each: values[w·(d+1) + s].
 */
export function walkStepMask(walk: PermutationWalk, step: number, features: number): boolean[] {
  const mask = new Array<boolean>(features).fill(false);
  for (let s = 0; s < step; s++) mask[walk.order[s]!] = true;
  return mask;
}

/**
 * Permutation-sampling Shapley values: feature i's attribution is the mean over walks of the value
 * change when i switches over. Each walk's changes sum to f(x) − f(background), so the attributions
 * sum to f(x) − base exactly. Each antithetic pair is one draw, stratified by its background row:
 * every row is used alike, so only the spread within a row's draws is sampling error (with one
 * pair per row that spread cannot be seen, and the pooled spread, an over-estimate, stands in).
 */
export function permutationShapley(walks: readonly PermutationWalk[], features: number, values: ArrayLike<number>): ShapleyEstimate {
  const stride = features + 1;
  if (values.length !== walks.length * stride) throw new Error(`permutationShapley: expected ${walks.length * stride} values, got ${values.length}`);
  if (walks.length === 0 || walks.length % 2 !== 0) throw new Error("permutationShapley: walks must come in antithetic pairs");
  const strata = new Map<number, number[][]>();
  let base = 0;
  for (let p = 0; p < walks.length / 2; p++) {
    const draw = new Array<number>(features).fill(0);
    for (const w of [2 * p, 2 * p + 1]) {
      const walk = walks[w]!;
      base += values[w * stride]!;
      for (let s = 0; s < features; s++) draw[walk.order[s]!]! += (values[w * stride + s + 1]! - values[w * stride + s]!) / 2;
    }
    const key = walks[2 * p]!.background;
    const stratum = strata.get(key);
    if (stratum) stratum.push(draw);
    else strata.set(key, [draw]);
  }
  const draws = [...strata.values()];
  const all = draws.flat();
  const mean = Array.from({ length: features }, (_, i) => all.reduce((a, d) => a + d[i]!, 0) / all.length);
  const standardErrors = mean.map((_, i) => standardError(draws, all, i));
  return { values: mean, standardErrors, base: base / walks.length };
}

function standardError(strata: number[][][], all: number[][], feature: number): number {
  const n = all.length;
  if (strata.every((s) => s.length >= 2)) {
    // Var(mean) = Σ_h (n_h / n)² · s_h² / n_h over the strata h.
    const variance = strata.reduce((acc, s) => acc + (s.length / n) ** 2 * (sampleVariance(s.map((d) => d[feature]!)) / s.length), 0);
    return Math.sqrt(variance);
  }
  return n > 1 ? Math.sqrt(sampleVariance(all.map((d) => d[feature]!)) / n) : 0;
}

function sampleVariance(xs: readonly number[]): number {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
}

/**
 * Exact Shapley values of an additive function (a linear model on its logit scale): there every
 * coalition gives feature i the same marginal change, so φ_i = mean over background rows of
 * f(b with feature i from x) − f(b), which for f = w·z + c is w_i·(x_i − E[b_i]).
 * Layout: values[0..n) the background rows, then for each feature i the n rows with i switched over.
 */
export function additiveShapley(features: number, backgrounds: number, values: ArrayLike<number>): ShapleyEstimate {
  checkPositive("additiveShapley", { features, backgrounds });
  if (values.length !== backgrounds * (features + 1)) throw new Error(`additiveShapley: expected ${backgrounds * (features + 1)} values, got ${values.length}`);
  let base = 0;
  for (let b = 0; b < backgrounds; b++) base += values[b]!;
  base /= backgrounds;
  const attributions = Array.from({ length: features }, (_, i) => {
    let sum = 0;
    for (let b = 0; b < backgrounds; b++) sum += values[(i + 1) * backgrounds + b]! - values[b]!;
    return sum / backgrounds;
  });
  return { values: attributions, standardErrors: attributions.map(() => 0), base };
}

/** Enumeration grows as 2^features: beyond this many features use the permutation estimator. */
export const MAX_ENUMERATED_FEATURES = 12;

/**
 * Exact Shapley values of any function by enumerating every coalition: v(S) is the mean over the
 * background rows of f(x on S, background elsewhere), φ_i = Σ_{S∌i} |S|!(d−|S|−1)!/d! · (v(S∪i) − v(S)).
 * Layout: values[mask·n + b] for coalition bitmask `mask` (bit i set: feature i from x) and background row b.
 */
export function enumeratedShapley(features: number, backgrounds: number, values: ArrayLike<number>): ShapleyEstimate {
  checkPositive("enumeratedShapley", { features, backgrounds });
  if (features > MAX_ENUMERATED_FEATURES) throw new Error(`enumeratedShapley: at most ${MAX_ENUMERATED_FEATURES} features, got ${features}`);
  const coalitions = 2 ** features;
  if (values.length !== coalitions * backgrounds) throw new Error(`enumeratedShapley: expected ${coalitions * backgrounds} values, got ${values.length}`);
  const v = new Float64Array(coalitions);
  for (let mask = 0; mask < coalitions; mask++) {
    let sum = 0;
    for (let b = 0; b < backgrounds; b++) sum += values[mask * backgrounds + b]!;
    v[mask] = sum / backgrounds;
  }
  const weight = coalitionWeights(features);
  const attributions = new Array<number>(features).fill(0);
  for (let mask = 0; mask < coalitions; mask++) {
    const size = popcount(mask);
    for (let i = 0; i < features; i++) {
      const bit = 1 << i;
      if ((mask & bit) === 0) attributions[i]! += weight[size]! * (v[mask | bit]! - v[mask]!);
    }
  }
  return { values: attributions, standardErrors: attributions.map(() => 0), base: v[0]! };
}

/** |S|!(d−|S|−1)!/d! for |S| = 0..d−1, through log-free products (d ≤ 12 keeps them exact enough). */
function coalitionWeights(d: number): number[] {
  const factorial = [1];
  for (let k = 1; k <= d; k++) factorial.push(factorial[k - 1]! * k);
  return Array.from({ length: d }, (_, s) => (factorial[s]! * factorial[d - s - 1]!) / factorial[d]!);
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x; v; v &= v - 1) n++;
  return n;
}

/** Fisher–Yates over 0..n−1. */
function shuffledRange(n: number, random: () => number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

function checkPositive(name: string, args: Record<string, number>): void {
  for (const [key, v] of Object.entries(args)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: ${key} must be a positive integer, got ${v}`);
  }
}
