import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { findFailingSegments, type FailingSegmentsReport, type SegmentFinding } from "../../analysis/segments.ts";
import type { ToolDeps } from "../deps.ts";
import { readOnly, registerToolSpec } from "../tool-kit.ts";
import { anchored, windowArg } from "../windows.ts";
import { pct } from "../../format.ts";

const rate = z.looseObject({ labelled: z.number(), errors: z.number(), errorRate: z.number().nullable() });
const segment = z.looseObject({
  feature: z.string(),
  label: z.string(),
  kind: z.enum(["range", "category", "unseen", "missing"]),
  current: rate,
  reference: rate,
  rise: z.number(),
  excessErrors: z.number(),
  pValue: z.number(),
  adjustedPValue: z.number(),
  significant: z.boolean(),
});

export function registerFindFailingSegmentsTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "find_failing_segments",
    title: "Failing segments",
    description:
      "Where accuracy fell (concept drift when the inputs did not move): for every feature's segments — numeric ranges of the " +
      "training quantiles, each category, unseen values, missing — the error rate of labelled traffic in the window against a " +
      "reference (the same version in the preceding window of equal length, another window, or its held-out error rate), with " +
      "counts, a one-sided test that it rose (z-test, or Fisher's exact test on small counts) and Benjamini–Hochberg correction " +
      "over all segments. Significant rises come first, largest rise first; `outsideTop` re-ranks the rows outside the top " +
      "segment, to tell a confined failure from one that spans segments. Works on binned values, so also under hash-only logging.",
    input: z
      .object({
        model: z.string().min(1).max(64),
        version: z.string().min(1).max(64).optional().describe("Default: the version that served most primary traffic in the window."),
        window: windowArg,
        against: z.enum(["window", "baseline"]).optional().describe("Reference: 'window' (default) or the version's held-out error rate ('baseline')."),
        referenceWindow: windowArg.describe("With against 'window': default the window of the same length just before `window`."),
        features: z.array(z.string().min(1).max(256)).max(500).optional().describe("Only these features; default every feature of the schema."),
        numericSegments: z.number().int().min(2).max(20).optional().describe("Ranges per numeric feature, of equal training mass (default 5)."),
        minRows: z.number().int().min(1).max(100_000).optional().describe("Labelled current rows a segment needs to be tested (default 20)."),
        alpha: z.number().gt(0).lt(1).optional().describe("False discovery rate (default 0.05)."),
        limit: z.number().int().min(1).max(200).optional().describe("Segments to return (default 10)."),
      })
      .strict(),
    output: z.looseObject({
      model: z.string(),
      version: z.string(),
      reference: z.looseObject({ kind: z.enum(["window", "baseline"]) }),
      overall: z.looseObject({ current: rate, reference: rate, rise: z.number().nullable() }),
      tested: z.number(),
      segments: z.array(segment),
      features: z.array(z.looseObject({ feature: z.string(), significantSegments: z.number() })),
      outsideTop: z.looseObject({ excluding: z.string(), significantSegments: z.number(), segments: z.array(segment) }).nullable(),
      notes: z.array(z.string()),
    }),
    annotations: readOnly,
    async run(args) {
      const now = deps.clock();
      const window = anchored(args.window, now);
      const referenceWindow = args.referenceWindow ? anchored(args.referenceWindow, window.fromUs) : undefined;
      const report = await findFailingSegments(deps.store, { ...args, window, referenceWindow });
      return { summary: summarize(report), data: report };
    },
  });
}

function summarize(r: FailingSegmentsReport): string {
  const against = r.reference.kind === "window" ? `${r.reference.window.from} – ${r.reference.window.to}` : "the held-out error rate";
  const o = r.overall;
  const lines = [
    `'${r.model}' v${r.version}: error rate ${pct(o.current.errorRate)} on ${o.current.labelled} labelled rows in ${r.window.from} – ${r.window.to}, ` +
      `vs ${pct(o.reference.errorRate)} on ${o.reference.labelled} in ${against}; ${r.tested} segments tested.`,
  ];
  const significant = r.segments.filter((s) => s.significant);
  if (significant.length) lines.push(`Error rate rose most in: ${significant.slice(0, 5).map(describe).join("; ")}.`);
  else if (r.tested > 0) lines.push(`No segment's error rate rose significantly (BH, α = ${r.alpha}).`);
  if (r.outsideTop) {
    lines.push(
      r.outsideTop.significantSegments === 0
        ? `Outside ${r.outsideTop.excluding} no segment rose significantly (error rate ${pct(r.outsideTop.overall.current.errorRate)} vs ${pct(r.outsideTop.overall.reference.errorRate)}): the failure is confined to it.`
        : `Outside ${r.outsideTop.excluding}, ${r.outsideTop.significantSegments} segments still rose, e.g. ${r.outsideTop.segments.slice(0, 3).map(describe).join("; ")}.`,
    );
  }
  if (r.notes.length) lines.push(`Notes: ${r.notes.join("; ")}.`);
  return lines.join("\n");
}

function describe(s: SegmentFinding): string {
  return `${s.label} ${pct(s.reference.errorRate)} → ${pct(s.current.errorRate)} (${s.current.errors}/${s.current.labelled}, adjusted p ${s.adjustedPValue.toPrecision(2)})`;
}
