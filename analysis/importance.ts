import { z } from "zod";
import type { ModelBaseline } from "../models/baseline.ts";

/** One feature's permutation importance as the read tools report it, ranked among the version's features. */
export const featureImportanceSchema = z.object({
  accuracyDrop: z.number().describe("accuracy lost (0.03 = 3 points) when the feature's column is permuted in the reference rows"),
  standardError: z.number().describe("standard error of accuracyDrop over the permutations"),
  rank: z.number().int().describe("1 = the feature the model relies on most"),
  of: z.number().int().describe("features ranked"),
});
export type FeatureImportanceView = z.infer<typeof featureImportanceSchema>;

/** How a version's importances were measured (models/importance.ts ImportanceRun), in words too. */
export const importanceRunSchema = z.object({
  metric: z.literal("accuracy"),
  rows: z.number().int(),
  repeats: z.number().int(),
  seed: z.number().int(),
  accuracy: z.number(),
  description: z.string(),
});
export type ImportanceRunView = z.infer<typeof importanceRunSchema>;

export interface VersionImportance {
  /** Null for a version registered without importances. */
  run: ImportanceRunView | null;
  /** By feature name; empty when unknown. */
  byFeature: Map<string, FeatureImportanceView>;
}

/** The importances stored in a version's baseline, ranked: largest drop first, schema order among equals. */
export function versionImportance(baseline: ModelBaseline): VersionImportance {
  const known = baseline.features.flatMap((f) => (f.importance ? [{ name: f.name, ...f.importance }] : []));
  if (!baseline.importance || known.length !== baseline.features.length) return { run: null, byFeature: new Map() };
  const ranked = [...known].sort((a, b) => b.accuracyDrop - a.accuracyDrop);
  const byFeature = new Map(ranked.map((f, i) => [f.name, { accuracyDrop: f.accuracyDrop, standardError: f.standardError, rank: i + 1, of: ranked.length }]));
  const r = baseline.importance;
  const description =
    `permutation importance: accuracy lost when a feature's column is permuted, mean of ${r.repeats} permutations (seed ${r.seed}) ` +
    `of ${r.rows} reference rows scored by the model (accuracy ${(r.accuracy * 100).toFixed(1)}% unpermuted)`;
  return { run: { ...r, description }, byFeature };
}

/** The note a report carries when the version has no importances. */
export function importanceUnknown(version: string): string {
  return `importance unknown: version ${version} was registered without permutation importance (before it was computed at registration, or without labelled reference rows)`;
}

/** "importance 4.2 pt ± 0.3, rank 1 of 8" or "importance unknown". */
export function describeImportance(i: FeatureImportanceView | null): string {
  return i ? `importance ${(i.accuracyDrop * 100).toFixed(1)} pt ± ${(i.standardError * 100).toFixed(1)}, rank ${i.rank} of ${i.of}` : "importance unknown";
}
