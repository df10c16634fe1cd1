import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { getAccuracy } from "../../analysis/index.ts";
import { listVersions } from "../../models/registry.ts";
import type { ToolDeps } from "../deps.ts";
import type { AccuracyResult, HeldOut } from "../results.ts";
import { readOnly, registerToolSpec } from "../tool-kit.ts";
import { anchored, windowArg } from "../windows.ts";
import { pct } from "../../format.ts";

/** Buckets with fewer labelled rows say little about a trend. */
const MIN_BUCKET_LABELS = 30;

export function registerGetModelAccuracyTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "get_model_accuracy",
    title: "Model accuracy",
    description:
      "Live accuracy of a model on labelled traffic (labels arrive later through feedback), with a 95% interval, per class, per " +
      "version beside each version's held-out accuracy at training (baselineAccuracy, on baselineRows rows), and per time bucket (trend). Where labels " +
      "are missing, `estimated` is a CBPE estimate from the model's confidence. Use it to find whether and when accuracy dropped.",
    input: z
      .object({
        model: z.string().min(1).max(64),
        version: z.string().min(1).max(64).optional().describe("Only this version; default every version that served."),
        window: windowArg,
        bucketSeconds: z.number().int().min(1).optional().describe("Trend bucket width (default: about 48 buckets over the window)."),
      })
      .strict(),
    output: z.looseObject({
      model: z.string(),
      predictions: z.number(),
      labelled: z.number(),
      accuracy: z.number().nullable(),
      baselineAccuracy: z.number().nullable().describe("Held-out accuracy at training of the analysed version (when one)."),
      baselineRows: z.number().nullable().describe("How many held-out rows baselineAccuracy was measured on."),
      byVersion: z.array(z.looseObject({ version: z.string(), accuracy: z.number().nullable(), baselineAccuracy: z.number().nullable(), baselineRows: z.number().nullable() })),
      trend: z.array(z.looseObject({ start: z.string(), labelled: z.number(), accuracy: z.number().nullable() })),
      notes: z.array(z.string()),
    }),
    annotations: readOnly,
    async run({ model, version, window, bucketSeconds }) {
      const report = await getAccuracy(deps.store, { model, version, window: anchored(window, deps.clock()), bucketSeconds });
      const heldOut = new Map((await listVersions(deps.store, model)).map((v) => [v.version, heldOutOf(v.metrics)]));
      const none = { baselineAccuracy: null, baselineRows: null };
      const byVersion = report.byVersion.map((v) => ({ ...v, ...(heldOut.get(v.version) ?? none) }));
      const single = report.version ?? (byVersion.length === 1 ? byVersion[0]!.version : null);
      const data: AccuracyResult = { ...report, byVersion, ...((single && heldOut.get(single)) || none) };
      return { summary: summarize(data), data };
    },
  });
}

function heldOutOf(metrics: Record<string, unknown>): HeldOut {
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  return { baselineAccuracy: num(metrics.accuracy), baselineRows: num(metrics.testRows) };
}

function summarize(r: AccuracyResult): string {
  const w = `${r.window.from} – ${r.window.to}`;
  if (r.predictions === 0) return `No served predictions of '${r.model}' in ${w}.`;
  const lines: string[] = [];
  const interval = r.interval ? ` [${pct(r.interval.lower)}, ${pct(r.interval.upper)}]` : "";
  lines.push(
    r.accuracy === null
      ? `'${r.model}': no labels yet for ${r.predictions} predictions in ${w}${r.estimated ? `; estimated accuracy (CBPE) ${pct(r.estimated.accuracy)}` : ""}.`
      : `'${r.model}' live accuracy ${pct(r.accuracy)}${interval} on ${r.labelled} labelled of ${r.predictions} predictions in ${w}.`,
  );
  const versions = r.byVersion
    .map((v) => {
      const drop = v.accuracy !== null && v.baselineAccuracy !== null ? ` vs ${pct(v.baselineAccuracy)} held-out (${signedPts(v.accuracy - v.baselineAccuracy)})` : "";
      return `v${v.version} ${pct(v.accuracy)} on ${v.labelled} labelled${drop}`;
    })
    .join("; ");
  if (versions) lines.push(`By version: ${versions}.`);
  const solid = r.trend.filter((b) => b.accuracy !== null && b.labelled >= MIN_BUCKET_LABELS);
  if (solid.length >= 2) {
    const hi = solid.reduce((a, b) => (b.accuracy! > a.accuracy! ? b : a));
    const lo = solid.reduce((a, b) => (b.accuracy! < a.accuracy! ? b : a));
    const first = solid[0]!;
    const last = solid[solid.length - 1]!;
    lines.push(
      `Trend (${r.bucketSeconds} s buckets with ≥${MIN_BUCKET_LABELS} labels): highest ${pct(hi.accuracy)} at ${hi.start}, lowest ${pct(lo.accuracy)} at ${lo.start}; ` +
        `first ${pct(first.accuracy)} → last ${pct(last.accuracy)} (${signedPts(last.accuracy! - first.accuracy!)}).`,
    );
  }
  if (r.notes.length) lines.push(`Notes: ${r.notes.join("; ")}.`);
  return lines.join("\n");
}

function signedPts(d: number): string {
  const pts = d * 100;
  return `${pts >= 0 ? "+" : "−"}${Math.abs(pts).toFixed(1)} pts`;
}
