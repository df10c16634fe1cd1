import type { ModelBaseline } from "../models/baseline.ts";
import type { Store } from "../store/client.ts";
import { benjaminiHochberg, wilsonInterval, type Interval } from "../stats/index.ts";
import { rateRiseTest, type RiseTestResult } from "../stats/rise-test.ts";
import { featureRefs, resolveFeature, type FeatureRef } from "./schema-index.ts";
import { segmentCounts, sideTotal, tallyBySegment, type BinTally, type SegmentCountQuery, type SegmentCounts } from "./segment-counts.ts";
import { DEFAULT_NUMERIC_SEGMENTS, featureSegments, type SegmentDef } from "./segment-defs.ts";
import { chooseVersion, requireBaseline, versionInfo, type VersionChoice } from "./version.ts";
import { resolveWindow, type ResolvedWindow, type Window } from "./window.ts";

export interface FailingSegmentsQuery {
  model: string;
  version?: string;
  /** The current window (default the last hour). */
  window?: Window;
  /**
   * "window" (default): the same version's labelled traffic in `referenceWindow`, by default the
   * window of the same length just before `window`. "baseline": the version's held-out error rate.
   */
  against?: "window" | "baseline";
  referenceWindow?: Window;
  /** Only these features (names from the schema); default all. */
  features?: string[];
  numericSegments?: number;
  /** Segments with fewer labelled current rows are not tested. */
  minRows?: number;
  alpha?: number;
  limit?: number;
}

export interface Rate {
  labelled: number;
  errors: number;
  /** errors / labelled; null without labelled rows. */
  errorRate: number | null;
  /** Wilson 95% interval of the error rate. */
  interval: Interval | null;
}

export interface SegmentFinding extends SegmentDef {
  current: Rate;
  reference: Rate;
  /** Current minus reference error rate. */
  rise: number;
  /** Errors beyond what the reference rate predicts for the segment's current rows: current.labelled × rise. */
  excessErrors: number;
  test: RiseTestResult["test"];
  /** One-sided (the error rate rose). */
  pValue: number;
  /** Benjamini–Hochberg over every tested segment of every feature. */
  adjustedPValue: number;
  significant: boolean;
}

export interface FeatureFinding {
  feature: string;
  type: "numeric" | "categorical";
  significantSegments: number;
  /** The segment with the largest rise among the tested ones, with its figures. */
  worst: { label: string; rise: number; adjustedPValue: number } | null;
}

export type ReferenceSource =
  | { kind: "window"; window: ResolvedWindow }
  | { kind: "baseline"; description: string; heldOutRows: number; accuracy: number };

export interface FailingSegmentsReport {
  model: string;
  version: string;
  versionChosenBy: VersionChoice["chosenBy"];
  window: ResolvedWindow;
  reference: ReferenceSource;
  overall: { current: Rate; reference: Rate; rise: number | null; test: RiseTestResult | null };
  correction: "benjamini-hochberg";
  alpha: number;
  /** Segments tested (with at least minRows labelled current rows and a reference). */
  tested: number;
  /** Significant rises first (largest rise first), then the rest by adjusted p-value; at most `limit`. */
  segments: SegmentFinding[];
  /** Per feature, ordered as the segments are: the feature holding the top segment first. */
  features: FeatureFinding[];
  /** When the top segment's rise is significant: the same ranking over the rows outside it. */
  outsideTop: OutsideTop | null;
  notes: string[];
}

export interface OutsideTop {
  /** The top segment's label; its rows are left out. */
  excluding: string;
  overall: FailingSegmentsReport["overall"];
  /** Significant rises left among the rows outside the top segment. */
  significantSegments: number;
  segments: SegmentFinding[];
}

export const DEFAULT_MIN_SEGMENT_ROWS = 20;

/**
 * Where accuracy fell: per segment (a feature's quantile range or category), the current error rate
 * against the reference one, a one-sided test that it rose, corrected for testing every segment.
 */
export async function findFailingSegments(store: Store, query: FailingSegmentsQuery): Promise<FailingSegmentsReport> {
  const { window, choice, refs, baseline, reference, countQuery } = await prepare(store, query);
  const counts = await segmentCounts(store, countQuery);
  const heldOut = reference.kind === "baseline" ? heldOutTally(reference) : null;
  const alpha = query.alpha ?? 0.05;
  const minRows = query.minRows ?? DEFAULT_MIN_SEGMENT_ROWS;
  const rank = (c: SegmentCounts) => rankSegments(refs, baseline, c, { numericSegments: query.numericSegments ?? DEFAULT_NUMERIC_SEGMENTS, heldOut, minRows, alpha });
  const ranked = rank(counts);

  const current = sideTotal(counts.current);
  const ref = heldOut ?? sideTotal(counts.reference);
  const notes = [...ranked.notes, ...coverageNotes(current, ref, reference, ranked.findings.length, ranked.candidates, minRows)];
  const top = ranked.findings[0];
  const topKey = top ? ranked.keys.get(top) : undefined;
  const outsideTop =
    top?.significant && topKey
      ? await residual(top, rank, () => segmentCounts(store, { ...countQuery, exclude: { binPos: topKey.ref.binPos, bins: topKey.bins } }), heldOut)
      : null;
  return {
    model: query.model,
    version: choice.version,
    versionChosenBy: choice.chosenBy,
    window,
    reference,
    overall: overallFigures(current, ref),
    correction: "benjamini-hochberg",
    alpha,
    tested: ranked.findings.length,
    segments: ranked.findings.slice(0, query.limit ?? 10),
    features: featureFindings(refs, ranked.findings),
    outsideTop,
    notes,
  };
}

/** The version, its features (checked against its schema before any SQL), the reference and the count query. */
async function prepare(store: Store, query: FailingSegmentsQuery) {
  const window = resolveWindow(query.window);
  const choice = await chooseVersion(store, query.model, window, query.version, { exactTraffic: false });
  const info = await versionInfo(store, query.model, choice.version);
  const schema = info.meta.schema;
  const context = `model '${query.model}' version ${choice.version}`;
  const refs = query.features?.length ? query.features.map((f) => resolveFeature(schema, f, context)) : featureRefs(schema);
  const baseline = requireBaseline(info);
  const referenceWindow = (query.against ?? "window") === "window" ? resolveReferenceWindow(window, query.referenceWindow) : undefined;
  const reference: ReferenceSource = referenceWindow ? { kind: "window", window: referenceWindow } : heldOutSource(baseline);
  const countQuery: SegmentCountQuery = {
    model: query.model,
    version: choice.version,
    features: schema.features.length,
    current: window,
    reference: referenceWindow,
    labelledOnly: true,
  };
  return { window, choice, refs, baseline, reference, countQuery };
}

/** Where a finding came from: its feature and the baseline bins of its segment. */
interface FindingKey {
  ref: FeatureRef;
  bins: number[];
}

interface Ranked {
  findings: SegmentFinding[];
  keys: Map<SegmentFinding, FindingKey>;
  candidates: number;
  notes: string[];
}

interface RankOptions {
  numericSegments: number;
  heldOut: BinTally | null;
  minRows: number;
  alpha: number;
}

/** Tests every segment of every feature, corrects over all of them, and orders the findings. */
function rankSegments(refs: FeatureRef[], baseline: ModelBaseline, counts: SegmentCounts, o: RankOptions): Ranked {
  const notes: string[] = [];
  const candidates = refs.flatMap((ref) => featureCandidates(ref, baseline, counts, o.numericSegments, o.heldOut, notes));
  const testable = candidates.filter((c) => c.current.labelled >= o.minRows && c.reference.labelled > 0);
  const tests = testable.map((c) => rateRiseTest(c.current.wrong, c.current.labelled, c.reference.wrong, c.reference.labelled));
  const adjusted = tests.length ? benjaminiHochberg(tests.map((t) => t.pValue), o.alpha).adjusted : [];
  const keys = new Map<SegmentFinding, FindingKey>();
  const findings = testable.map((c, i) => {
    const f = finding(c, tests[i]!, adjusted[i]!, o.alpha);
    keys.set(f, { ref: c.ref, bins: c.bins });
    return f;
  });
  findings.sort(bySignificanceThenRise);
  return { findings, keys, candidates: candidates.length, notes };
}

/**
 * Segments of different features overlap (east-region rows fall in every age range), so one failing
 * segment lifts many others. Re-ranking the rows outside the top segment says whether the rise is
 * confined to it or something else failed too.
 */
async function residual(
  top: SegmentFinding,
  rank: (c: SegmentCounts) => Ranked,
  countOutside: () => Promise<SegmentCounts>,
  heldOut: BinTally | null,
): Promise<OutsideTop> {
  const counts = await countOutside();
  const ranked = rank(counts);
  const current = sideTotal(counts.current);
  const significant = ranked.findings.filter((f) => f.significant);
  return {
    excluding: top.label,
    overall: overallFigures(current, heldOut ?? sideTotal(counts.reference)),
    significantSegments: significant.length,
    segments: significant.slice(0, 5),
  };
}

/** Default reference: the window of the same length ending where the current one starts. */
function resolveReferenceWindow(current: ResolvedWindow, requested: Window | undefined): ResolvedWindow {
  if (requested) return resolveWindow(requested, current.fromUs);
  return resolveWindow({ fromUs: current.fromUs - (current.toUs - current.fromUs), toUs: current.fromUs });
}

function heldOutSource(baseline: ModelBaseline): Extract<ReferenceSource, { kind: "baseline" }> {
  const heldOutRows = baseline.labelCounts.reduce((a, b) => a + b, 0);
  return {
    kind: "baseline",
    description: "the version's held-out error rate at training, for every segment alike (per-segment held-out rates are not stored)",
    heldOutRows,
    accuracy: baseline.accuracy,
  };
}

function heldOutTally(source: Extract<ReferenceSource, { kind: "baseline" }>): BinTally {
  const labelled = source.heldOutRows;
  return { answered: labelled, predictedPositive: 0, labelled, wrong: Math.round((1 - source.accuracy) * labelled), labelledPositive: 0 };
}

interface Candidate extends SegmentDef {
  current: BinTally;
  reference: BinTally;
  ref: FeatureRef;
  bins: number[];
}

function featureCandidates(
  ref: FeatureRef,
  baseline: ModelBaseline,
  counts: SegmentCounts,
  numericSegments: number,
  heldOut: BinTally | null,
  notes: string[],
): Candidate[] {
  const segments = featureSegments(baseline.features[ref.index]!, numericSegments);
  const cur = tallyBySegment(counts.current.get(ref.index), segments.defs.length, segments.segmentOf);
  const refSide = tallyBySegment(counts.reference.get(ref.index), segments.defs.length, segments.segmentOf);
  const outside = cur.outOfRange + refSide.outOfRange;
  if (outside > 0) notes.push(`${ref.name}: ${outside} rows carry a bin outside the baseline's and were left out`);
  return segments.defs.map((def, s) => ({ ...def, current: cur.tallies[s]!, reference: heldOut ?? refSide.tallies[s]!, ref, bins: segments.binsOf(s) }));
}

export function rateOf(t: BinTally): Rate {
  return {
    labelled: t.labelled,
    errors: t.wrong,
    errorRate: t.labelled > 0 ? t.wrong / t.labelled : null,
    interval: t.labelled > 0 ? wilsonInterval(t.wrong, t.labelled) : null,
  };
}

function finding(c: Candidate, test: RiseTestResult, adjustedPValue: number, alpha: number): SegmentFinding {
  const { current, reference, ref: _ref, bins: _bins, ...def } = c;
  const rise = current.wrong / current.labelled - reference.wrong / reference.labelled;
  return {
    ...def,
    current: rateOf(current),
    reference: rateOf(reference),
    rise,
    excessErrors: current.labelled * rise,
    test: test.test,
    pValue: test.pValue,
    adjustedPValue,
    significant: adjustedPValue <= alpha && rise > 0,
  };
}

function bySignificanceThenRise(a: SegmentFinding, b: SegmentFinding): number {
  if (a.significant !== b.significant) return a.significant ? -1 : 1;
  return a.significant ? b.rise - a.rise || a.adjustedPValue - b.adjustedPValue : a.adjustedPValue - b.adjustedPValue || b.rise - a.rise;
}

function featureFindings(refs: FeatureRef[], sorted: SegmentFinding[]): FeatureFinding[] {
  const rank = (name: string) => {
    const i = sorted.findIndex((s) => s.feature === name);
    return i < 0 ? Infinity : i;
  };
  return [...refs]
    .sort((a, b) => rank(a.name) - rank(b.name))
    .map((ref) => {
      const own = sorted.filter((s) => s.feature === ref.name);
      const worst = own.reduce<SegmentFinding | null>((w, s) => (w === null || s.rise > w.rise ? s : w), null);
      return {
        feature: ref.name,
        type: ref.type,
        significantSegments: own.filter((s) => s.significant).length,
        worst: worst ? { label: worst.label, rise: worst.rise, adjustedPValue: worst.adjustedPValue } : null,
      };
    });
}

function overallFigures(current: BinTally, reference: BinTally): FailingSegmentsReport["overall"] {
  const both = current.labelled > 0 && reference.labelled > 0;
  return {
    current: rateOf(current),
    reference: rateOf(reference),
    rise: both ? current.wrong / current.labelled - reference.wrong / reference.labelled : null,
    test: both ? rateRiseTest(current.wrong, current.labelled, reference.wrong, reference.labelled) : null,
  };
}

function coverageNotes(current: BinTally, reference: BinTally, source: ReferenceSource, tested: number, candidates: number, minRows: number): string[] {
  const notes: string[] = [];
  if (current.labelled === 0) notes.push("no labelled predictions of this version in the window: nothing to localize");
  if (current.labelled > 0 && reference.labelled === 0 && source.kind === "window") {
    notes.push("no labelled predictions of this version in the reference window; widen it, or compare against the held-out error rate (against: baseline)");
  }
  if (current.labelled > 0 && tested < candidates) notes.push(`${candidates - tested} of ${candidates} segments had fewer than ${minRows} labelled current rows or no reference rows and were not tested`);
  return notes;
}
