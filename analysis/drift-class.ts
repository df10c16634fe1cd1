// Drift of the predicted and the true class distributions.
import type { ModelBaseline } from "../models/baseline.ts";
import { psi, selectMethod } from "../stats/index.ts";
import { sum } from "./bins.ts";
import type { WindowAggregates } from "./drift-aggregates.ts";
import type { ClassDrift } from "./drift-report.ts";

/**
 * The window's predicted and true classes against the reference window's, or against the
 * baseline's held-out predictions and labels; label drift is null until some rows are labelled.
 */
export function outputDrift(classes: readonly string[], baseline: ModelBaseline, cur: WindowAggregates, ref: WindowAggregates | null): { prediction: ClassDrift | null; label: ClassDrift | null } {
  const prediction = classDrift(classes, ref ? ref.predicted : countsOf(classes, baseline.predictionCounts), cur.predicted);
  const refLabels = ref ? ref.labels : countsOf(classes, baseline.labelCounts);
  const label = sum([...cur.labels.values()]) > 0 && sum([...refLabels.values()]) > 0 ? classDrift(classes, refLabels, cur.labels) : null;
  return { prediction, label };
}

function countsOf(classes: readonly string[], counts: readonly number[]): Map<string, number> {
  return new Map(classes.map((c, i) => [c, counts[i] ?? 0]));
}

function classDrift(classes: readonly string[], ref: Map<string, number>, cur: Map<string, number>): ClassDrift | null {
  const keys = [...classes, ...[...ref.keys(), ...cur.keys()].filter((k) => !classes.includes(k))];
  const uniqueKeys = [...new Set(keys)];
  const refCounts = uniqueKeys.map((k) => ref.get(k) ?? 0);
  const curCounts = uniqueKeys.map((k) => cur.get(k) ?? 0);
  const refTotal = sum(refCounts);
  const curTotal = sum(curCounts);
  if (refTotal === 0 || curTotal === 0) return null;
  const method = selectMethod({ type: "categorical", uniqueValues: uniqueKeys.length, sampleSize: refTotal });
  const result = method.run({ kind: "histogram", refCounts, curCounts });
  const shares = (counts: number[], total: number) => Object.fromEntries(uniqueKeys.map((k, i) => [k, counts[i]! / total]));
  return {
    method: result.method,
    score: result.score,
    pValue: result.pValue ?? null,
    threshold: result.threshold,
    drifted: result.drifted,
    psi: psi(refCounts, curCounts),
    rows: { reference: refTotal, current: curTotal },
    reference: shares(refCounts, refTotal),
    current: shares(curCounts, curTotal),
  };
}
