import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { modelHealth, type HealthFigures, type HealthReport } from "../../analysis/index.ts";
import type { VersionBaseline } from "../../analysis/health.ts";
import type { ToolDeps } from "../deps.ts";
import { assertKnownModel } from "../models.ts";
import { readOnly, registerToolSpec } from "../tool-kit.ts";
import { anchored, windowArg } from "../windows.ts";
import { pct } from "../../format.ts";

const latency = z.looseObject({ p50: z.number(), p95: z.number(), p99: z.number() });

export function registerGetModelHealthTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "get_model_health",
    title: "Model health",
    description:
      "Operational health of a model from its prediction log: requests served, error rate, throughput and latency (p50/p95/p99), " +
      "per version and role (primary, canary, shadow), errors grouped by reason with an example, and a trend per time bucket. " +
      "`baselines` holds each version's own usual latency and error rate (the period just before the window, or its first traffic; see `baselineRule`) and the " +
      "window against it: the share of requests over the reference p99 and the share slow by a margin, overall and in the newer half. " +
      "Use it first: it shows which versions are serving and whether the model fails before asking whether it is wrong.",
    input: z
      .object({
        model: z.string().min(1).max(64),
        window: windowArg,
        bucketSeconds: z.number().int().min(1).optional().describe("Trend bucket width (default: about 48 buckets over the window)."),
        baseline: z
          .object({
            referenceSeconds: z.number().positive().optional().describe("Length of each version's reference period (default: the window's length): just before the window, or from its first served row."),
            lookbackSeconds: z.number().min(0).optional().describe("How far before the window a reference period may start (default 7 days)."),
            slowMarginMs: z.number().min(0).optional().describe("A slow request is over the reference p95 and the reference p50 + this (default 10)."),
          })
          .strict()
          .optional(),
      })
      .strict(),
    output: z.looseObject({
      model: z.string(),
      served: z.looseObject({ rows: z.number(), errors: z.number(), errorRate: z.number() }),
      byVersion: z.array(z.looseObject({ version: z.string(), variant: z.string(), rows: z.number(), errorRate: z.number() })),
      errorsByReason: z.array(z.looseObject({ reason: z.string(), rows: z.number() })),
      baselines: z.array(
        z.looseObject({
          version: z.string(),
          reference: z.looseObject({ rows: z.number(), errorRate: z.number(), latencyMs: latency.nullable() }),
          current: z.looseObject({ rows: z.number(), errorRate: z.number(), latencyMs: latency.nullable(), slow: z.looseObject({ share: z.number() }) }).nullable(),
        }),
      ),
      baselineRule: z.string(),
      notes: z.array(z.string()),
    }),
    annotations: readOnly,
    async run({ model, window, bucketSeconds, baseline }) {
      await assertKnownModel(deps.store, model);
      const h = await modelHealth(deps.store, { model, window: anchored(window, deps.clock()), bucketSeconds, ...(baseline ? { baseline } : {}) });
      return { summary: summarize(h), data: h };
    },
  });
}

function figures(f: HealthFigures): string {
  const latency = f.latencyMs ? `, latency p50 ${f.latencyMs.p50.toFixed(1)} / p95 ${f.latencyMs.p95.toFixed(1)} / p99 ${f.latencyMs.p99.toFixed(1)} ms` : "";
  return `${f.rows} rows, ${f.errors} errors (${pct(f.errorRate, 2)})${latency}`;
}

function summarize(h: HealthReport): string {
  const lines = [`'${h.model}' in ${h.window.from} – ${h.window.to}: served ${figures(h.served)}, ${h.served.throughputPerSec.toFixed(2)} req/s.`];
  if (h.byVersion.length) lines.push(`By version: ${h.byVersion.map((v) => `v${v.version} ${v.variant}: ${figures(v)}`).join("; ")}.`);
  if (h.shadow) lines.push(`Shadow: ${figures(h.shadow)}.`);
  for (const b of h.baselines.filter((x) => x.current)) lines.push(against(b));
  if (h.errorsByReason.length) lines.push(`Errors by reason: ${h.errorsByReason.slice(0, 5).map((e) => `${e.reason || "(none)"} ${e.rows}`).join(", ")}.`);
  if (h.notes.length) lines.push(`Notes: ${h.notes.join("; ")}.`);
  return lines.join("\n");
}

/** One line per version measured against its own reference period. */
function against(b: VersionBaseline): string {
  const c = b.current!;
  const ms = (l: HealthFigures["latencyMs"]) => (l ? `p50 ${l.p50.toFixed(1)} / p95 ${l.p95.toFixed(1)} / p99 ${l.p99.toFixed(1)} ms` : "no answered rows");
  return (
    `v${b.version} against its reference period (${b.reference.from} – ${b.reference.to}, ${b.reference.rows} rows, ${ms(b.reference.latencyMs)}, errors ${pct(b.reference.errorRate, 2)}): ` +
    `now ${ms(c.latencyMs)}, errors ${pct(c.errorRate, 2)}; ${pct(c.overReferenceP99.share, 1)} over the reference p99, ` +
    `${pct(c.slow.share, 1)} slower than ${c.slow.thresholdMs.toFixed(1)} ms (${pct(c.recent.slowShare, 1)} in the newer half).`
  );
}
