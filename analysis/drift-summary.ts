// The drift report's one-line finding, from its figures.
import { pct } from "../format.ts";
import type { ClassDrift, DriftReport, FeatureDrift } from "./drift-report.ts";

export function driftSummary(features: FeatureDrift[], dataset: DriftReport["dataset"], prediction: ClassDrift | null, label: ClassDrift | null): string {
  const parts: string[] = [];
  if (dataset) {
    const names = dataset.driftedFeatures.length > 0 ? ` (${dataset.driftedFeatures.join(", ")})` : "";
    parts.push(
      `${dataset.driftedCount} of ${dataset.tested} features drifted${names}; dataset drift: ${dataset.drifted ? "yes" : "no"} ` +
        `(share ${dataset.share.toFixed(2)} ${dataset.drifted ? ">=" : "<"} ${dataset.shareThreshold}, ${dataset.correction})`,
    );
  }
  const top = features[0];
  if (top) parts.push(`largest move: ${top.feature} (psi ${top.psi.toFixed(3)}, ${top.psiLevel})`);
  for (const f of features) {
    if (f.missing.shifted) parts.push(`missing ${f.feature}: ${pct(f.missing.reference)} -> ${pct(f.missing.current)}`);
    if (f.unseen && f.unseen.rows > 0 && f.unseen.current > f.unseen.reference) {
      const values = f.unseen.values?.length ? ` e.g. ${f.unseen.values.slice(0, 3).map((v) => `'${v.value}'`).join(", ")}` : "";
      parts.push(`unseen ${f.feature} values in ${f.unseen.rows} rows${values}`);
    }
  }
  if (prediction?.drifted) parts.push(`prediction drift (${prediction.method} ${prediction.score.toFixed(3)})`);
  if (label?.drifted) parts.push(`label drift (${label.method} ${label.score.toFixed(3)})`);
  return parts.join("; ");
}
