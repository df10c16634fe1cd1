import type { Store } from "../store/client.ts";
import { latencyMs, latencyQuantilesSql } from "../store/latency-quantiles.ts";
import { mcnemar, twoProportionZTest, wilsonInterval, type Interval } from "../stats/index.ts";
import { versionInfo } from "./version.ts";
import { resolveWindow, windowCondition, windowParams, type ResolvedWindow, type Window } from "./window.ts";
import { pct } from "../format.ts";

export interface CompareQuery {
  model: string;
  versionA: string;
  versionB: string;
  window?: Window;
  /** "window" (default): each version's served rows in the window. "shadow": the same requests scored by both. */
  mode?: "window" | "shadow";
}

export interface SideStats {
  version: string;
  /** Rows counted for latency and errors: served rows (window mode) or every row of the version (shadow mode). */
  rows: number;
  errors: number;
  errorRate: number;
  /** Over answered rows; exact nearest-rank quantiles. Null without answered rows. */
  latencyMs: { p50: number; p99: number } | null;
  /** Window mode: the version's labelled served rows. Shadow mode: the labelled pairs. */
  labelled: number;
  correct: number;
  accuracy: number | null;
  interval: Interval | null;
}

export interface VersionComparison {
  model: string;
  mode: "window" | "shadow";
  window: ResolvedWindow;
  a: SideStats;
  b: SideStats;
  /** Accuracy test; differencePts is B minus A in percentage points. Null when there are too few labelled rows. */
  test: { name: "two-proportion z-test" | "McNemar"; statistic: number; pValue: number; differencePts: number; exact?: boolean } | null;
  /** Shadow mode: requests answered by one version and shadowed by the other. */
  shadow: {
    pairs: number;
    agreement: number | null;
    labelledPairs: number;
    bothCorrect: number;
    onlyA: number;
    onlyB: number;
    neitherCorrect: number;
    /** Pairs where B was the shadow (else A was). */
    bShadow: number;
  } | null;
  /** The better version when the difference is significant at 0.05, else null. */
  better: string | null;
  verdict: string;
  /** Labelled rows (or pairs) each side needs before a test is run. */
  minLabelled: number;
}

export const MIN_LABELLED = 30;
const ALPHA = 0.05;

/** Per version: served (or all) rows, errors, latency quantiles, labelled and correct; labels joined by request id hash. */
const SIDES_SQL = (predictions: string, labels: string) => `
  SELECT version, count() AS rows, countIf(error != '') AS errors,
         countIf(error = '' AND label != '') AS labelled,
         countIf(error = '' AND label != '' AND label = predicted) AS correct,
         ${latencyQuantilesSql()} AS q
  FROM (
    SELECT version, predicted, error, latency_us, cityHash64(request_id) AS h
    FROM ${predictions} FINAL
    WHERE model = {model:String} AND version IN ({a:String}, {b:String}) AND variant IN {variants:Array(String)}
      AND ${windowCondition()}
  ) AS p
  LEFT JOIN (SELECT cityHash64(request_id) AS h, label FROM ${labels} FINAL WHERE model = {model:String}) AS l ON p.h = l.h
  GROUP BY version
  SETTINGS join_algorithm = 'hash'`;

/**
 * Shadow pairs: answered rows of A and B sharing a request id, exactly one of them the shadow.
 * Grouping by request id pairs them in one scan; the labels join then scores both at once.
 */
const PAIRS_SQL = (predictions: string, labels: string) => `
  SELECT count() AS pairs, countIf(pa = pb) AS agree, countIf(vb = 'shadow') AS b_shadow,
         countIf(label != '') AS labelled,
         countIf(label != '' AND pa = label AND pb = label) AS both,
         countIf(label != '' AND pa = label AND pb != label) AS only_a,
         countIf(label != '' AND pa != label AND pb = label) AS only_b,
         countIf(label != '' AND pa != label AND pb != label) AS neither
  FROM (
    SELECT cityHash64(request_id) AS h,
           anyIf(predicted, version = {a:String}) AS pa, anyIf(predicted, version = {b:String}) AS pb,
           anyIf(variant, version = {a:String}) AS va, anyIf(variant, version = {b:String}) AS vb
    FROM ${predictions} FINAL
    WHERE model = {model:String} AND version IN ({a:String}, {b:String}) AND error = '' AND ${windowCondition()}
    GROUP BY request_id
    HAVING countIf(version = {a:String}) = 1 AND countIf(version = {b:String}) = 1 AND (va = 'shadow') != (vb = 'shadow')
  ) AS p
  LEFT JOIN (SELECT cityHash64(request_id) AS h, label FROM ${labels} FINAL WHERE model = {model:String}) AS l ON p.h = l.h
  SETTINGS join_algorithm = 'hash'`;

interface SideRow {
  version: string;
  rows: number;
  errors: number;
  labelled: number;
  correct: number;
  q: number[];
}

interface PairsRow {
  pairs: number;
  agree: number;
  b_shadow: number;
  labelled: number;
  both: number;
  only_a: number;
  only_b: number;
  neither: number;
}

/** Which of two versions is better on the same traffic, with the test behind the verdict. */
export async function compareVersions(store: Store, query: CompareQuery): Promise<VersionComparison> {
  const { model, versionA, versionB } = query;
  const mode = query.mode ?? "window";
  if (mode !== "window" && mode !== "shadow") throw new Error(`mode must be 'window' or 'shadow', got '${String(mode)}'`);
  if (versionA === versionB) throw new Error(`versionA and versionB are both '${versionA}'; compare two different versions`);
  await Promise.all([versionInfo(store, model, versionA), versionInfo(store, model, versionB)]);
  const window = resolveWindow(query.window);
  const params = {
    model,
    a: versionA,
    b: versionB,
    variants: mode === "window" ? ["primary", "canary", "bandit"] : ["primary", "canary", "bandit", "shadow"],
    ...windowParams(window),
  };
  const predictions = store.table("predictions");
  const labels = store.table("labels");
  const [sideRows, pairRows] = await Promise.all([
    store.rows<SideRow>(SIDES_SQL(predictions, labels), params),
    mode === "shadow" ? store.rows<PairsRow>(PAIRS_SQL(predictions, labels), params) : Promise.resolve([]),
  ]);
  const side = (version: string): SideStats => {
    const r = sideRows.find((s) => s.version === version);
    const rows = Number(r?.rows ?? 0);
    const errors = Number(r?.errors ?? 0);
    const labelled = Number(r?.labelled ?? 0);
    const correct = Number(r?.correct ?? 0);
    return {
      version,
      rows,
      errors,
      errorRate: rows > 0 ? errors / rows : 0,
      latencyMs: rows - errors > 0 && r ? medianAndP99(r.q) : null,
      labelled,
      correct,
      accuracy: labelled > 0 ? correct / labelled : null,
      interval: labelled > 0 ? wilsonInterval(correct, labelled) : null,
    };
  };
  const a = side(versionA);
  const b = side(versionB);
  const base = { model, mode, window, minLabelled: MIN_LABELLED };

  if (mode === "window") {
    const n = Math.min(a.labelled, b.labelled);
    if (n < MIN_LABELLED) {
      const hint = (s: SideStats) => (s.rows === 0 ? ` version ${s.version} served no rows in the window; if it ran as a shadow, use mode 'shadow'.` : "");
      return { ...base, a, b, test: null, shadow: null, better: null, verdict: `not enough labelled rows (n=${n}; need ${MIN_LABELLED} per version).${hint(a)}${hint(b)}`.trim() };
    }
    const z = twoProportionZTest(b.correct, b.labelled, a.correct, a.labelled);
    const differencePts = (b.accuracy! - a.accuracy!) * 100;
    const test = { name: "two-proportion z-test" as const, statistic: z.z, pValue: z.pValue, differencePts };
    return { ...base, a, b, test, shadow: null, ...judge(a, b, differencePts, z.pValue, `n=${a.labelled} vs ${b.labelled}`) };
  }

  const p = pairRows[0];
  const pairs = Number(p?.pairs ?? 0);
  const shadow = {
    pairs,
    agreement: pairs > 0 ? Number(p!.agree) / pairs : null,
    labelledPairs: Number(p?.labelled ?? 0),
    bothCorrect: Number(p?.both ?? 0),
    onlyA: Number(p?.only_a ?? 0),
    onlyB: Number(p?.only_b ?? 0),
    neitherCorrect: Number(p?.neither ?? 0),
    bShadow: Number(p?.b_shadow ?? 0),
  };
  // Side accuracies on the labelled pairs, so both are measured on exactly the same rows.
  const paired = (s: SideStats, own: number): SideStats => {
    const correct = shadow.bothCorrect + own;
    const n = shadow.labelledPairs;
    return { ...s, labelled: n, correct, accuracy: n > 0 ? correct / n : null, interval: n > 0 ? wilsonInterval(correct, n) : null };
  };
  const pa = paired(a, shadow.onlyA);
  const pb = paired(b, shadow.onlyB);
  const agreement = shadow.agreement === null ? "no paired requests" : `agreement ${pct(shadow.agreement)} on ${pairs} paired requests`;
  if (pairs === 0) {
    return { ...base, a: pa, b: pb, test: null, shadow, better: null, verdict: `no requests scored by both versions with one of them as shadow in the window` };
  }
  if (shadow.labelledPairs < MIN_LABELLED) {
    return { ...base, a: pa, b: pb, test: null, shadow, better: null, verdict: `not enough labelled rows (n=${shadow.labelledPairs}; need ${MIN_LABELLED} labelled pairs); ${agreement}` };
  }
  const m = mcnemar(shadow.onlyA, shadow.onlyB);
  const differencePts = ((shadow.onlyB - shadow.onlyA) / shadow.labelledPairs) * 100;
  const test = { name: "McNemar" as const, statistic: m.statistic, pValue: m.pValue, differencePts, exact: m.method === "exact" };
  const judged = judge(pa, pb, differencePts, m.pValue, `${shadow.labelledPairs} labelled pairs`);
  return { ...base, a: pa, b: pb, test, shadow, better: judged.better, verdict: `${judged.verdict}; ${agreement}` };
}

function judge(a: SideStats, b: SideStats, differencePts: number, pValue: number, n: string): { better: string | null; verdict: string } {
  const accuracies = `A ${pct(a.accuracy!)} vs B ${pct(b.accuracy!)}`;
  if (pValue >= ALPHA) {
    return { better: null, verdict: `no significant difference: B ${signed(differencePts)} pts (${accuracies}, ${n}), ${pText(pValue)}` };
  }
  const bBetter = differencePts > 0;
  const winner = bBetter ? `B (version ${b.version})` : `A (version ${a.version})`;
  return {
    better: bBetter ? b.version : a.version,
    verdict: `${winner} is better: +${Math.abs(differencePts).toFixed(1)} pts (${accuracies}, ${n}), ${pText(pValue)}`,
  };
}

const signed = (x: number) => `${x >= 0 ? "+" : "-"}${Math.abs(x).toFixed(1)}`;
const pText = (p: number) => (p < 0.001 ? "p<0.001" : `p=${p.toFixed(3)}`);

/** The median and p99 of the log's one latency definition: what a comparison of two versions shows. */
function medianAndP99(q: readonly unknown[]): { p50: number; p99: number } {
  const { p50, p99 } = latencyMs(q);
  return { p50, p99 };
}
