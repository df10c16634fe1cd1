import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { getSegmentPerformance, type Proportion, type SegmentPerformanceReport } from "../../analysis/segment-performance.ts";
import type { ToolDeps } from "../deps.ts";
import { readOnly, registerToolSpec } from "../tool-kit.ts";
import { anchored, windowArg } from "../windows.ts";
import { pct } from "../../format.ts";

const proportion = z.looseObject({ count: z.number(), of: z.number(), rate: z.number().nullable() });
const figures = { answered: z.number(), positiveRate: proportion, accuracy: proportion, actualPositiveRate: proportion };

export function registerGetSegmentPerformanceTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "get_segment_performance",
    title: "Performance per segment (bias check)",
    description:
      "Accuracy and positive rate (share predicted as the positive class) per category of one feature — or per training-quantile " +
      "range of a numeric one — in the window, with Wilson 95% intervals, the true positive share beside them, and disparity " +
      "figures: lowest/highest positive rate ratio (the four-fifths rule), accuracy gap, chi-square p-values of both across " +
      "segments. Use it for a fairness or bias check, or to look closer at a feature find_failing_segments named.",
    input: z
      .object({
        model: z.string().min(1).max(64),
        feature: z.string().min(1).max(256).describe("Feature name from the model's schema."),
        version: z.string().min(1).max(64).optional(),
        window: windowArg,
        positiveClass: z.string().min(1).max(256).optional().describe("Class counted by the positive rate (default the schema's second class)."),
        numericSegments: z.number().int().min(2).max(20).optional().describe("Ranges for a numeric feature (default 5)."),
        minRows: z.number().int().min(1).max(100_000).optional().describe("Rows a segment needs to enter the disparity figures (default 30)."),
      })
      .strict(),
    output: z.looseObject({
      model: z.string(),
      version: z.string(),
      feature: z.string(),
      positiveClass: z.string(),
      overall: z.looseObject(figures),
      segments: z.array(z.looseObject({ label: z.string(), kind: z.enum(["range", "category", "unseen", "missing"]), ...figures })),
      disparity: z.looseObject({ positiveRateRatio: z.number().nullable(), accuracyGap: z.number().nullable() }),
      notes: z.array(z.string()),
    }),
    annotations: readOnly,
    async run(args) {
      const report = await getSegmentPerformance(deps.store, { ...args, window: anchored(args.window, deps.clock()) });
      return { summary: summarize(report), data: report };
    },
  });
}

function summarize(r: SegmentPerformanceReport): string {
  const lines = [
    `'${r.model}' v${r.version} by ${r.feature}, ${r.overall.answered} predictions in ${r.window.from} – ${r.window.to}: ` +
      `accuracy ${pct(r.overall.accuracy.rate)} (${r.overall.accuracy.of} labelled), positive ('${r.positiveClass}') rate ${pct(r.overall.positiveRate.rate)}.`,
  ];
  const shown = r.segments.filter((s) => s.answered > 0);
  if (shown.length) lines.push(shown.map((s) => `${s.label}: accuracy ${withInterval(s.accuracy)}, positive rate ${withInterval(s.positiveRate)}`).join("; ") + ".");
  const d = r.disparity;
  if (d.positiveRateRatio !== null || d.accuracyGap !== null) {
    lines.push(
      `Across segments with ≥ ${r.minRows} rows: positive-rate ratio ${d.positiveRateRatio?.toFixed(2) ?? "n/a"}${d.positiveRateRatio !== null && d.positiveRateRatio < 0.8 ? " (below the four-fifths rule's 0.8)" : ""}${pValue(d.positiveRatePValue)}` +
        `, accuracy gap ${d.accuracyGap === null ? "n/a" : `${(d.accuracyGap * 100).toFixed(1)} pts`}${pValue(d.accuracyPValue)}.`,
    );
  }
  if (r.notes.length) lines.push(`Notes: ${r.notes.join("; ")}.`);
  return lines.join("\n");
}

/** The rates' homogeneity test beside each figure: a ratio under 0.8 on a few hundred rows may be noise. */
function pValue(p: number | null): string {
  return p === null ? "" : ` (chi-square p ${p.toPrecision(2)})`;
}

function withInterval(p: Proportion): string {
  return p.interval ? `${pct(p.rate)} [${pct(p.interval.lower)}, ${pct(p.interval.upper)}]` : "n/a";
}
