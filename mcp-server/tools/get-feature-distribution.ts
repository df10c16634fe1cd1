import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { describeImportance, featureDistribution, featureImportanceSchema, importanceRunSchema, type FeatureDistribution } from "../../analysis/index.ts";
import type { ToolDeps } from "../deps.ts";
import { readOnly, registerToolSpec } from "../tool-kit.ts";
import { anchored, windowArg } from "../windows.ts";
import { pct } from "../../format.ts";

export function registerGetFeatureDistributionTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "get_feature_distribution",
    title: "Feature distribution",
    description:
      "How one input feature is distributed in the window beside the version's training baseline: histogram bins (numeric) or " +
      "category shares (categorical), values never seen in training, missing values, and summary statistics, with the feature's " +
      "permutation importance to the version and its rank (null when unknown). Use it on the features detect_data_drift flags, " +
      "to see how they moved and how much the model relies on them.",
    input: z
      .object({
        model: z.string().min(1).max(64),
        feature: z.string().min(1).max(256).describe("Feature name from the model's schema (list_models / detect_data_drift show them)."),
        version: z.string().min(1).max(64).optional(),
        window: windowArg,
      })
      .strict(),
    output: z.looseObject({
      model: z.string(),
      version: z.string(),
      feature: z.string(),
      type: z.enum(["numeric", "categorical"]),
      rows: z.number(),
      importance: featureImportanceSchema.nullable(),
      importanceRun: importanceRunSchema.nullable(),
      notes: z.array(z.string()),
    }),
    annotations: readOnly,
    async run({ model, feature, version, window }) {
      const d = await featureDistribution(deps.store, { model, feature, version, window: anchored(window, deps.clock()) });
      return { summary: summarize(d), data: d };
    },
  });
}

function summarize(d: FeatureDistribution): string {
  const lines = [`'${d.model}' v${d.version} feature ${d.feature} (${d.type}, ${describeImportance(d.importance)}), ${d.rows} rows in ${d.window.from} – ${d.window.to}.`];
  const cur = d.stats?.current;
  const ref = d.stats?.reference;
  if (cur && ref) {
    const inStd = ref.std > 0 ? (cur.mean - ref.mean) / ref.std : null;
    lines.push(
      `Mean ${num(cur.mean)} vs ${num(ref.mean)} in training${inStd !== null ? ` (${inStd >= 0 ? "+" : ""}${inStd.toFixed(2)} training std)` : ""}; ` +
        `median ${num(cur.quantiles.p50)} vs ${num(ref.quantiles.p50)}; p5–p95 ${num(cur.quantiles.p5)}–${num(cur.quantiles.p95)} vs ${num(ref.quantiles.p5)}–${num(ref.quantiles.p95)}.`,
    );
  }
  if (d.categories?.length) {
    const moved = [...d.categories].sort((a, b) => Math.abs(b.current - b.reference) - Math.abs(a.current - a.reference)).slice(0, 3);
    lines.push(`Largest share changes: ${moved.map((c) => `${c.value} ${pct(c.reference)} → ${pct(c.current)}`).join(", ")}.`);
  }
  if (d.unknown && d.unknown.currentCount > 0) {
    const values = d.unknown.values?.slice(0, 5).map((v) => `${v.value} (${v.rows})`).join(", ");
    lines.push(`${d.unknown.currentCount} rows carry values unseen in training${values ? `: ${values}` : ""}.`);
  }
  if (d.missing.current > 0 || d.missing.reference > 0) lines.push(`Missing ${pct(d.missing.current)} vs ${pct(d.missing.reference)} in training.`);
  if (d.notes.length) lines.push(`Notes: ${d.notes.join("; ")}.`);
  return lines.join("\n");
}

function num(x: number): string {
  return Math.abs(x) >= 1000 ? Math.round(x).toLocaleString("en-US") : Number(x.toPrecision(4)).toString();
}
