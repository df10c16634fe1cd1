import type { AgentConfig } from "../configuration.ts";
import type { Reasoner } from "../reasoners/reasoner.ts";
import type { AgentStateType, Evidence, TimelineEntry } from "../state.ts";
import type { DriftReport, HealthReport } from "../../analysis/index.ts";
import type { AccuracyResult, Applied, DeploymentHistory } from "../../mcp-server/results.ts";
import { ToolCallError, type LogsResult, type McpTools, type SegmentsResult } from "../tools.ts";
import { pct } from "../../format.ts";

/** What every node may use besides the state; injected once by `buildGraph`. */
export interface AgentDeps {
  tools: McpTools;
  reasoner: Reasoner;
  config: AgentConfig;
  /** Only with `config.autoApprove`: a connection authenticated with the approver token (simulation). */
  approver?: McpTools;
  /** Milliseconds; a simulation passes its virtual clock. */
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Where the incident summary is printed. */
  print: (text: string) => void;
}

type Unnumbered = Omit<Evidence, "id">;

/** Calls one tool and keeps the result (or the tool's error) as evidence with the call that produced it. */
export async function observe<T>(node: string, tool: string, args: Record<string, unknown>, run: () => Promise<T>, summaryOf: (d: T) => string): Promise<{ data: T | null; evidence: Unnumbered }> {
  try {
    const data = await run();
    return { data, evidence: { node, tool, args, summary: summaryOf(data), data } };
  } catch (err) {
    if (!(err instanceof ToolCallError)) throw err;
    return { data: null, evidence: { node, tool, args, summary: `failed: ${err.message}`, data: { error: err.message } } };
  }
}

/** Evidence ids run E1, E2, ... over the whole incident. */
export function numbered(state: Pick<AgentStateType, "evidence">, items: Unnumbered[]): Evidence[] {
  return items.map((e, i) => ({ id: `E${state.evidence.length + i + 1}`, ...e }));
}

export function entry(deps: AgentDeps, node: string, event: string): TimelineEntry {
  return { at: new Date(deps.now()).toISOString(), node, event };
}

/** One line per tool result, the `summary` an evidence item carries. */
export const evidenceSummary = {
  health: (h: HealthReport) =>
    `${h.served.rows} requests, error rate ${pct(h.served.errorRate)}, p99 ${fmtMs(h.served.latencyMs?.p99 ?? null)}` +
    (h.errorsByReason.length ? `; errors: ${h.errorsByReason.map((r) => `${r.reason} ${r.rows}`).join(", ")}` : "") +
    (h.servedByVersion.length > 1 ? `; by version: ${h.servedByVersion.map((v) => `v${v.version} ${pct(v.errorRate)} / p99 ${fmtMs(v.latencyMs?.p99 ?? null)}`).join(", ")}` : ""),
  accuracy: (a: AccuracyResult) =>
    `realized ${a.accuracy === null ? "n/a" : pct(a.accuracy)} on ${a.labelled} labelled rows` +
    ` (coverage ${pct(a.labelCoverage)})` +
    `, estimated ${a.estimated === null ? "n/a" : pct(a.estimated.accuracy)}` +
    (a.byVersion.length ? `; by version: ${a.byVersion.map((v) => `v${v.version} ${v.accuracy === null ? "n/a" : pct(v.accuracy)} (n=${v.labelled}, est ${v.estimated === null ? "n/a" : pct(v.estimated.accuracy)})`).join(", ")}` : ""),
  drift: (d: DriftReport) => {
    const top = [...d.features].sort((a, b) => b.psi - a.psi).slice(0, 3);
    return `dataset ${d.dataset?.drifted ? "DRIFTED" : "not drifted"}${d.dataset ? ` (share ${pct(d.dataset.share)})` : ""}; top by PSI: ${top.map((f) => `${f.feature} ${f.psi.toFixed(3)}${f.drifted ? "*" : ""}`).join(", ") || "none"}`;
  },
  deployments: (h: DeploymentHistory) => {
    const e = h.events[0];
    return e ? `${h.events.length} events; newest: ${e.action} v${e.version || "?"} by ${e.actor || "?"} at ${e.ts}${e.state ? ` → primary v${e.state.primary ?? "none"}` : ""}` : "no deployments";
  },
  logs: (l: LogsResult) => `${l.rows.length} wrong predictions sampled`,
  segments: (r: SegmentsResult) => {
    const risen = r.segments.filter((x) => x.significant).slice(0, 3);
    const rate = (x: { errorRate: number | null }) => (x.errorRate === null ? "n/a" : pct(x.errorRate));
    return (
      `v${r.version} error rate ${rate(r.overall.current)} (n=${r.overall.current.labelled}) vs ${rate(r.overall.reference)}; ` +
      (risen.length ? `rose most in ${risen.map((x) => `${x.label} ${rate(x.current)} (n=${x.current.labelled}) vs ${rate(x.reference)}, q=${x.adjustedPValue.toExponential(1)}`).join("; ")}` : "no segment rose significantly")
    );
  },
  /** compare_model_versions answers with a verdict in words; anything else is shown as JSON, cut short. */
  compare: (c: Record<string, unknown>) => (typeof c.verdict === "string" ? `${c.verdict}${typeof c.better === "string" ? ` (better: v${c.better})` : ""}` : evidenceSummary.object(c)),
  applied: ({ state: s }: Applied) => `applied; traffic now primary v${s.primary ?? "none"}${s.canary ? `, canary v${s.canary.version} at ${s.canary.percent}%` : ""}`,
  object: (o: unknown) => JSON.stringify(o).slice(0, 300),
};

function fmtMs(x: number | null): string {
  return x === null ? "n/a" : `${x.toFixed(1)} ms`;
}
