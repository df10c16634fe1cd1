import type { Store } from "../store/client.ts";
import { chiSquare, wilsonInterval, type Interval } from "../stats/index.ts";
import { resolveFeature } from "./schema-index.ts";
import { emptyTally, addTally, segmentCounts, tallyBySegment, type BinTally } from "./segment-counts.ts";
import { DEFAULT_NUMERIC_SEGMENTS, featureSegments, type SegmentDef } from "./segment-defs.ts";
import { chooseVersion, requireBaseline, versionInfo, type VersionChoice } from "./version.ts";
import { resolveWindow, type ResolvedWindow, type Window } from "./window.ts";

export interface SegmentPerformanceQuery {
  model: string;
  feature: string;
  version?: string;
  window?: Window;
  /** The class whose predicted share is the "positive rate"; default the schema's second class. */
  positiveClass?: string;
  numericSegments?: number;
  /** Segments with fewer answered (for the positive rate) or labelled (for accuracy) rows stay out of the disparity figures. */
  minRows?: number;
}

export interface Proportion {
  count: number;
  of: number;
  /** count / of; null when of is 0. */
  rate: number | null;
  /** Wilson 95%. */
  interval: Interval | null;
}

export interface SegmentPerformance extends SegmentDef {
  answered: number;
  /** Share of answered rows predicted positive. */
  positiveRate: Proportion;
  /** Share of labelled rows predicted right. */
  accuracy: Proportion;
  /** Share of labelled rows truly positive: tells a model's bias from a real difference in base rates. */
  actualPositiveRate: Proportion;
}

export interface Disparity {
  /** Segments with enough rows for each figure. */
  compared: { positiveRate: number; accuracy: number };
  /** Lowest over highest positive rate (the "four-fifths rule" ratio); null with fewer than two segments or a zero maximum. */
  positiveRateRatio: number | null;
  /** Highest minus lowest accuracy. */
  accuracyGap: number | null;
  /** Chi-square homogeneity p-values across the compared segments: do the rates differ at all. */
  positiveRatePValue: number | null;
  accuracyPValue: number | null;
}

export interface SegmentPerformanceReport {
  model: string;
  version: string;
  versionChosenBy: VersionChoice["chosenBy"];
  window: ResolvedWindow;
  feature: string;
  type: "numeric" | "categorical";
  positiveClass: string;
  overall: Omit<SegmentPerformance, keyof SegmentDef>;
  segments: SegmentPerformance[];
  disparity: Disparity;
  minRows: number;
  notes: string[];
}

export const DEFAULT_MIN_PERFORMANCE_ROWS = 30;

/** The bias check: accuracy and positive rate per category (or quantile range) of one feature, with Wilson intervals. */
export async function getSegmentPerformance(store: Store, query: SegmentPerformanceQuery): Promise<SegmentPerformanceReport> {
  const window = resolveWindow(query.window);
  const choice = await chooseVersion(store, query.model, window, query.version, { exactTraffic: false });
  const info = await versionInfo(store, query.model, choice.version);
  const schema = info.meta.schema;
  const ref = resolveFeature(schema, query.feature, `model '${query.model}' version ${choice.version}`);
  const positiveClass = query.positiveClass ?? schema.classes[1]!;
  if (!schema.classes.includes(positiveClass)) {
    throw new Error(`unknown positiveClass '${positiveClass}' for model '${query.model}' version ${choice.version}; classes: ${schema.classes.join(", ")}`);
  }
  const segments = featureSegments(requireBaseline(info).features[ref.index]!, query.numericSegments ?? DEFAULT_NUMERIC_SEGMENTS);
  const counts = await segmentCounts(store, {
    model: query.model,
    version: choice.version,
    features: schema.features.length,
    current: window,
    binPos: ref.binPos,
    positive: positiveClass,
    labelledOnly: false,
  });
  const { tallies, outOfRange } = tallyBySegment(counts.current.get(ref.index), segments.defs.length, segments.segmentOf);
  const total = emptyTally();
  tallies.forEach((t) => addTally(total, t));
  const minRows = query.minRows ?? DEFAULT_MIN_PERFORMANCE_ROWS;
  const rows = segments.defs.map((def, s) => ({ ...def, ...figures(tallies[s]!) }));
  const notes: string[] = [];
  if (total.answered === 0) notes.push(`no answered predictions of version ${choice.version} in the window`);
  else if (total.labelled === 0) notes.push("no labels yet for the window's predictions: accuracy is unknown, positive rates stand");
  if (outOfRange > 0) notes.push(`${outOfRange} rows carry a bin outside the baseline's and were left out`);
  if (query.positiveClass === undefined) notes.push(`positive class defaults to the second class, '${positiveClass}'`);
  return {
    model: query.model,
    version: choice.version,
    versionChosenBy: choice.chosenBy,
    window,
    feature: ref.name,
    type: ref.type,
    positiveClass,
    overall: figures(total),
    segments: rows,
    disparity: disparity(tallies, minRows),
    minRows,
    notes,
  };
}

function figures(t: BinTally): Omit<SegmentPerformance, keyof SegmentDef> {
  return {
    answered: t.answered,
    positiveRate: proportion(t.predictedPositive, t.answered),
    accuracy: proportion(t.labelled - t.wrong, t.labelled),
    actualPositiveRate: proportion(t.labelledPositive, t.labelled),
  };
}

function proportion(count: number, of: number): Proportion {
  return { count, of, rate: of > 0 ? count / of : null, interval: of > 0 ? wilsonInterval(count, of) : null };
}

function disparity(tallies: BinTally[], minRows: number): Disparity {
  const byRate = tallies.filter((t) => t.answered >= minRows);
  const byAccuracy = tallies.filter((t) => t.labelled >= minRows);
  const rates = byRate.map((t) => t.predictedPositive / t.answered);
  const accuracies = byAccuracy.map((t) => (t.labelled - t.wrong) / t.labelled);
  const maxRate = Math.max(...rates);
  return {
    compared: { positiveRate: byRate.length, accuracy: byAccuracy.length },
    positiveRateRatio: rates.length >= 2 && maxRate > 0 ? Math.min(...rates) / maxRate : null,
    accuracyGap: accuracies.length >= 2 ? Math.max(...accuracies) - Math.min(...accuracies) : null,
    positiveRatePValue: homogeneity(byRate.map((t) => t.predictedPositive), byRate.map((t) => t.answered - t.predictedPositive)),
    accuracyPValue: homogeneity(byAccuracy.map((t) => t.labelled - t.wrong), byAccuracy.map((t) => t.wrong)),
  };
}

/** A 2×k table's chi-square p-value (rows: events, non-events; columns: segments); null when a row is empty or k < 2. */
function homogeneity(events: number[], nonEvents: number[]): number | null {
  if (events.length < 2) return null;
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  if (sum(events) === 0 || sum(nonEvents) === 0) return null;
  return chiSquare(events, nonEvents).pValue;
}
