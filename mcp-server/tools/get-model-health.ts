import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { modelHealth, type HealthFigures, type HealthReport } from "../../analysis/index.ts";
import type { ToolDeps } from "../deps.ts";
import { assertKnownModel } from "../models.ts";
import { readOnly, registerToolSpec } from "../tool-kit.ts";
import { anchored, pct, windowArg } from "../windows.ts";

export function registerGetModelHealthTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "get_model_health",
    title: "Model health",
    description:
      "Operational health of a model from its prediction log: requests served, error rate, throughput and latency (p50/p95/p99), " +
      "per version and role (primary, canary, shadow), errors grouped by reason with an example, and a trend per time bucket. " +
      "Use it first: it shows which versions are serving and whether the model fails before asking whether it is wrong.",
    input: z
      .object({
        model: z.string().min(1).max(64),
        window: windowArg,
        bucketSeconds: z.number().int().min(1).optional().describe("Trend bucket width (default: about 48 buckets over the window)."),
      })
      .strict(),
    output: z.looseObject({
      model: z.string(),
      served: z.looseObject({ rows: z.number(), errors: z.number(), errorRate: z.number() }),
      byVersion: z.array(z.looseObject({ version: z.string(), variant: z.string(), rows: z.number(), errorRate: z.number() })),
      errorsByReason: z.array(z.looseObject({ reason: z.string(), rows: z.number() })),
      notes: z.array(z.string()),
    }),
    annotations: readOnly,
    async run({ model, window, bucketSeconds }) {
      await assertKnownModel(deps.store, model);
      const h = await modelHealth(deps.store, { model, window: anchored(window, deps.clock()), bucketSeconds });
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
  if (h.errorsByReason.length) lines.push(`Errors by reason: ${h.errorsByReason.slice(0, 5).map((e) => `${e.reason || "(none)"} ${e.rows}`).join(", ")}.`);
  if (h.notes.length) lines.push(`Notes: ${h.notes.join("; ")}.`);
  return lines.join("\n");
}
