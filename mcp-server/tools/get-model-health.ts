import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { modelHealth, type HealthFigures, type HealthReport } from "../../analysis/index.ts";
import type { VersionBaseline } from "../../analysis/health.ts";
import type { ToolDeps } from "../deps.ts";
import { assertKnownModel } from "../models.ts";
import { readOnly, registerToolSpec } from "../tool-kit.ts";
import { anchored, windowArg } from "../windows.ts";
import { iso, pct } from "../../format.ts";
import { servedShares, type SharesBucket } from "../../analysis/served-shares.ts";
import { banditAllocation, type ArmAllocation } from "../../rollout/bandit.ts";
import { currentTrafficState, type BanditState } from "../../store/deployments.ts";

/** A running bandit as get_model_health shows it: its settings, the allocation serving computes now, and the shares it served per bucket. */
interface BanditView extends Omit<BanditState, "sinceUs"> {
  since: string;
  allocation: ArmAllocation[];
  overTime: SharesBucket[];
}

const latency = z.looseObject({ p50: z.number(), p95: z.number(), p99: z.number() });

export function registerGetModelHealthTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "get_model_health",
    title: "Model health",
    description:
      "Operational health of a model from its prediction log: requests served, error rate, throughput and latency (p50/p95/p99), " +
      "per version and role (primary, canary, shadow) in `byVersion`, per version over what callers saw (primary and canary together, shadow left out) in `servedByVersion`, " +
        "errors grouped by reason with an example, and a trend per time bucket. " +
      "`baselines` holds each version's own usual latency and error rate (the period just before the window, or its first traffic; see `baselineRule`) and the " +
      "window against it: the share of requests over the reference p99 and the share slow by a margin, overall and in the newer half. " +
      "While a bandit runs, `bandit` holds its arms and settings, the allocation serving computes from the store now (each arm's labelled answers, mean reward and share) " +
      "and `overTime`, the share of the bandit's rows each arm answered per bucket. " +
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
      servedByVersion: z.array(z.looseObject({ version: z.string(), rows: z.number(), errorRate: z.number(), errorsByReason: z.array(z.looseObject({ reason: z.string(), rows: z.number() })) })),
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
      bandit: z
        .looseObject({
          arms: z.array(z.string()),
          policy: z.string(),
          floorPercent: z.number(),
          since: z.string(),
          allocation: z.array(z.looseObject({ version: z.string(), pulls: z.number(), meanReward: z.number().nullable(), share: z.number() })),
          overTime: z.array(z.looseObject({ start: z.string(), rows: z.number(), shares: z.array(z.looseObject({ version: z.string(), share: z.number() })) })),
        })
        .nullable(),
    }),
    annotations: readOnly,
    async run({ model, window, bucketSeconds, baseline }) {
      await assertKnownModel(deps.store, model);
      const h = await modelHealth(deps.store, { model, window: anchored(window, deps.clock()), bucketSeconds, ...(baseline ? { baseline } : {}) });
      const { bandit: running } = (await currentTrafficState(deps.store, model)).state;
      const bandit = running ? await banditView(deps, model, running, h) : null;
      return { summary: [summarize(h), ...(bandit ? [banditLine(bandit)] : [])].join("\n"), data: { ...h, bandit } };
    },
  });
}

async function banditView(deps: ToolDeps, model: string, running: BanditState, h: HealthReport): Promise<BanditView> {
  const { sinceUs, ...settings } = running;
  const [allocation, overTime] = await Promise.all([banditAllocation(deps.store, model, running), servedShares(deps.store, model, "bandit", h.window, h.bucketSeconds)]);
  return { ...settings, since: iso(sinceUs), allocation, overTime };
}

function banditLine(b: BanditView): string {
  const arms = b.allocation.map((a) => `v${a.version} ${pct(a.share, 1)} (${a.pulls} labelled${a.meanReward === null ? "" : `, mean reward ${a.meanReward.toFixed(3)}`})`);
  return `Bandit (${b.policy}, floor ${b.floorPercent}% per arm) since ${b.since}: allocation now ${arms.join(", ")}.`;
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
