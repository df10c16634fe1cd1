import type { AgentConfig } from "../configuration.ts";
import { accuracyOf, extractFacts, figuresOf } from "../facts.ts";
import type { AgentStateType, AgentUpdate, Figures, Verification } from "../state.ts";
import type { AccuracyResult } from "../../mcp-server/results.ts";
import { ToolCallError } from "../tools.ts";
import type { HealthReport } from "../../analysis/index.ts";
import { entry, numbered, evidenceSummary, type AgentDeps } from "./common.ts";
import { pct } from "../../format.ts";

/**
 * Watches the window that starts when the action was applied, polling until the figures are back
 * within tolerance of the baseline or the deadline passes. Accuracy is realized when enough rows
 * are labelled, else CBPE's estimate; an infra fault with neither is judged on errors and latency.
 * The baseline is the serving version's own accuracy before the incident (from the evidence); the
 * SLO floor stands in when it is unknown.
 */
export async function verify(state: AgentStateType, deps: AgentDeps): Promise<AgentUpdate> {
  const { config, tools } = deps;
  const r = state.actionResult!;
  const facts = extractFacts(state.evidence, config, deps.now());
  const version = r.expectedPrimary ?? undefined;
  const before = figuresOf(facts.serving[0], config);
  const baseline = version ? facts.versions.get(version) : undefined;
  const baseAcc = baseline ? accuracyOf(baseline, config) : null;
  const target = baseAcc ? baseAcc.value - config.verify.tolerance : config.slo.minAccuracy;
  const accuracyOptional = state.diagnosis?.category === "infra";

  const window = { fromUs: r.appliedAtUs! };
  const deadline = r.appliedAtUs! / 1000 + config.verify.deadlineSeconds * 1000;
  let polls = 0;
  let last: { after: Figures; acc: AccuracyResult | null; health: HealthReport | null; verdict: Verdict };
  for (;;) {
    polls++;
    const [acc, health] = await Promise.all([orNull(tools.accuracy({ model: state.model, ...(version ? { version } : {}), window })), orNull(tools.health({ model: state.model, window }))]);
    const after = measure(acc, health, version, config);
    last = { after, acc, health, verdict: judge(after, target, accuracyOptional, config) };
    if (last.verdict.recovered || deps.now() >= deadline) break;
    await deps.sleep(Math.max(0, Math.min(config.verify.pollSeconds * 1000, deadline - deps.now())));
  }
  const verification: Verification = {
    recovered: last.verdict.recovered,
    before,
    after: last.after,
    target,
    polls,
    details: last.verdict.recovered ? `recovered: ${last.verdict.checks.join("; ")}` : `not recovered by the ${config.verify.deadlineSeconds} s deadline: ${last.verdict.checks.join("; ")}`,
  };
  const args = { model: state.model, window };
  const evidence = numbered(state, [
    ...(last.acc ? [{ node: "verify", tool: "get_model_accuracy", args: { ...args, ...(version ? { version } : {}) }, summary: evidenceSummary.accuracy(last.acc), data: last.acc }] : []),
    ...(last.health ? [{ node: "verify", tool: "get_model_health", args, summary: evidenceSummary.health(last.health), data: last.health }] : []),
  ]);
  return {
    verification,
    evidence,
    status: verification.recovered ? "recovered" : "not_recovered",
    timeline: [entry(deps, "verify", `${verification.details} (${polls} poll${polls === 1 ? "" : "s"})`)],
  };
}

interface Verdict {
  recovered: boolean;
  checks: string[];
}

function measure(acc: AccuracyResult | null, health: HealthReport | null, version: string | undefined, config: AgentConfig): Figures {
  const a = (version && acc?.byVersion.find((v) => v.version === version)) || acc;
  const h = (version && health?.servedByVersion.find((v) => v.version === version)) || health?.served;
  const rows = a?.predictions ?? h?.rows ?? 0;
  const realized = a && a.accuracy !== null && a.labelled >= config.verify.minRows ? a.accuracy : null;
  const estimated = a && a.estimated !== null && rows >= config.verify.minRows ? a.estimated.accuracy : null;
  return {
    accuracy: realized ?? estimated,
    accuracySource: realized !== null ? "realized" : estimated !== null ? "estimated" : null,
    rows,
    labelled: a?.labelled ?? 0,
    errorRate: h && h.rows > 0 ? h.errorRate : null,
    p99Ms: h?.latencyMs?.p99 ?? null,
  };
}

function judge(f: Figures, target: number, accuracyOptional: boolean, config: AgentConfig): Verdict {
  const checks: string[] = [];
  let ok = true;
  if (f.rows < config.verify.minRows) {
    ok = false;
    checks.push(`only ${f.rows} rows since the action (need ${config.verify.minRows})`);
  }
  if (f.accuracy !== null) {
    const pass = f.accuracy >= target;
    ok &&= pass;
    checks.push(`${f.accuracySource} accuracy ${pct(f.accuracy)}${f.accuracySource === "realized" ? ` (n=${f.labelled})` : ""} ${pass ? "≥" : "<"} target ${pct(target)}`);
  } else if (!accuracyOptional) {
    ok = false;
    checks.push("no accuracy yet (too few labels, no estimate)");
  }
  if (f.errorRate !== null) {
    const pass = f.errorRate <= config.slo.maxErrorRate;
    ok &&= pass;
    checks.push(`error rate ${pct(f.errorRate)} ${pass ? "≤" : ">"} ${pct(config.slo.maxErrorRate)}`);
  }
  if (f.p99Ms !== null) {
    const pass = f.p99Ms <= config.slo.maxP99Ms;
    ok &&= pass;
    checks.push(`p99 ${f.p99Ms.toFixed(0)} ms ${pass ? "≤" : ">"} ${config.slo.maxP99Ms} ms`);
  }
  return { recovered: ok, checks };
}

async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof ToolCallError) return null;
    throw err;
  }
}
