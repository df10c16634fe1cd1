import { detectDataDrift, getAccuracy, modelHealth, type Window } from "../analysis/index.ts";
import { loadAgentConfig } from "../agent/configuration.ts";
import { openAgent, type Agent } from "../agent/runtime.ts";
import type { RunOutcome } from "../agent/runner.ts";
import { createMcpMetrics } from "../mcp-server/metrics.ts";
import { registerMcpHttp } from "../mcp-server/transports/http.ts";
import { nowMicros } from "../store/clock.ts";
import { deploymentHistory } from "../store/deployments.ts";
import { SIM_TOKENS, startEnvironment, type SimulationEnvironment } from "./environment.ts";
import type { ScenarioResult, SeriesPoint, Verdict } from "./result.ts";
import { ruleVerdict, type RuleDiagnosis } from "./rule-baseline.ts";
import type { Scenario } from "./scenario.ts";
import { Lockstep } from "./lockstep.ts";
import { ScenarioRun } from "./scenario-run.ts";
import { checkVerdict } from "./scoring.ts";
import { DASH, pct } from "../format.ts";

export interface SuiteEntry {
  scenario: Scenario;
  /** Directory of the scenario file: CSV paths are relative to it. */
  dir: string;
}

export interface RunOptions {
  /** Requests between two monitoring checks (agent run and baseline snapshot). */
  checkEvery?: number;
  /** Analysis window, in virtual seconds, for the baseline and the agent. */
  windowSeconds?: number;
  progress?: (line: string) => void;
  /** After each run, with every result so far: a long suite cut short keeps what it measured. */
  onResult?: (results: readonly ScenarioResult[]) => void;
}

/** Traffic keeps flowing after the last phase while the agent still acts, up to this much. */
const MAX_TAIL_REQUESTS = 8000;
/** Accuracy after an action counts from this many requests later: labels and windows must catch up. */
const SETTLE_REQUESTS = 300;
/** The after-window is at least this long: traffic goes on once the agent is done, if the phases ended. */
const AFTER_MIN_REQUESTS = 1000;
/** Recovered: served accuracy after the remedy at most this far below what is attainable on the post-fault population. */
const RECOVERY_TOLERANCE = 0.02;
const TRAFFIC_ACTIONS = new Set(["deploy", "promote", "rollback", "set_split", "remove"]);

/** Runs scenarios one after another in one process: one store, one server, one agent. */
export async function runScenarios(entries: SuiteEntry[], options: RunOptions = {}): Promise<ScenarioResult[]> {
  const env = await startEnvironment({
    extend: (app, { config, store, registry }) =>
      registerMcpHttp(app, {
        deps: { store, config, adminToken: SIM_TOKENS.admin, actionsEnabled: true, metrics: createMcpMetrics(registry) },
        mcpToken: SIM_TOKENS.mcp,
        approverToken: SIM_TOKENS.approver,
        allowedOrigins: [],
      }),
  });
  const windowSeconds = options.windowSeconds ?? 1000;
  const pace = new Lockstep();
  const agent = await openAgent(
    loadAgentConfig({
      MLWATCH_DATA_DIR: env.dataDir,
      MLWATCH_URL: `${env.service.url}/mcp`,
      MLWATCH_MCP_TOKEN: SIM_TOKENS.mcp,
      MLWATCH_APPROVER_TOKEN: SIM_TOKENS.approver,
      MLWATCH_AUTO_APPROVE: "1",
      // The suite's models answer in about a millisecond: 100 ms leaves room for a loaded machine, 250 ms (the default) would hide a regression.
      MLWATCH_SLO_MAX_P99_MS: process.env.MLWATCH_SLO_MAX_P99_MS ?? "100",
      MLWATCH_AGENT_WINDOW_S: String(windowSeconds),
      MLWATCH_AGENT_RECENT_DEPLOY_S: String(windowSeconds * 3),
      MLWATCH_AGENT_VERIFY_DEADLINE_S: "2500",
      MLWATCH_AGENT_VERIFY_POLL_S: "200",
      MLWATCH_AGENT_ROLLOUT_DEADLINE_S: "12000",
      ...(process.env.OLLAMA_HOST ? { OLLAMA_HOST: process.env.OLLAMA_HOST, MLWATCH_OLLAMA_MODEL: process.env.MLWATCH_OLLAMA_MODEL } : {}),
    }),
    { now: () => nowMicros() / 1000, sleep: (ms) => pace.sleep(ms), print: () => undefined },
  );
  try {
    const results: ScenarioResult[] = [];
    for (const e of entries) {
      results.push(await runOne(env, agent, e, pace, { checkEvery: options.checkEvery ?? 250, windowSeconds, progress: options.progress ?? (() => undefined) }));
      options.onResult?.(results);
    }
    return results;
  } finally {
    await agent.close();
    await env.close();
  }
}

interface AgentIncident {
  launchedAt: number;
  outcome: RunOutcome;
}

async function runOne(
  env: SimulationEnvironment,
  agent: Agent,
  entry: SuiteEntry,
  pace: Lockstep,
  o: { checkEvery: number; windowSeconds: number; progress: (line: string) => void },
): Promise<ScenarioResult> {
  const started = performance.now();
  pace.resume();
  const run = new ScenarioRun(env, entry.scenario, entry.dir);
  const tag = `${run.scenario.name}#${run.scenario.seed}`;
  env.clock.advanceSeconds(86_400); // a fresh day: no window reaches the previous scenario
  const startUs = env.clock.us;
  await run.setup();
  const series: SeriesPoint[] = [];
  let baselineDiagnosis: { at: number; d: RuleDiagnosis } | null = null;
  let reference: { accuracy: number; p99Ms: number } | null = null;
  const incidents: AgentIncident[] = [];
  let healthyLooks = 0;
  let task: Promise<void> | null = null;
  const requestAt = (us: number) => Math.max(0, Math.round((us - startUs) / (run.scenario.secondsPerRequest * 1e6)));

  const check = async (i: number) => {
    // Every answered row and delivered label in the store before anyone reads it.
    await Promise.all([env.service.predictions.flush(), env.service.labels.flush()]);
    const window: Window = { fromUs: nowMicros() - o.windowSeconds * 1e6, toUs: nowMicros() + 1 };
    const [accuracy, drift, health] = await Promise.all([
      getAccuracy(env.store, { model: run.model, window }),
      detectDataDrift(env.store, { model: run.model, window }),
      modelHealth(env.store, { model: run.model, window }),
    ]);
    const topPsi = drift.features[0]?.psi ?? null;
    series.push({ request: i, accuracy: accuracy.accuracy, estimatedAccuracy: accuracy.estimated?.accuracy ?? null, topDriftPsi: topPsi, p99Ms: health.served.latencyMs?.p99 ?? null, errorRate: health.served.errorRate });
    if (!reference && i >= o.windowSeconds / run.scenario.secondsPerRequest) {
      reference = { accuracy: Number(run.v1.metrics.accuracy), p99Ms: health.served.latencyMs?.p99 ?? 5 };
    }
    if (reference && !baselineDiagnosis) {
      const d = ruleVerdict({ accuracy, drift, health }, reference);
      if (d) baselineDiagnosis = { at: i, d };
    }
    if (!task && mayLaunch(incidents)) {
      const launchedAt = i;
      pace.started();
      const launched = await agent.runner.launch(run.model, { kind: "schedule" }).catch((err: unknown) => {
        pace.done();
        throw err;
      });
      task = launched.done
        .then((outcome) => {
          healthyLooks = outcome.status === "healthy" ? healthyLooks + 1 : 0;
          if (outcome.status !== "healthy") {
            incidents.push({ launchedAt, outcome });
            report(o.progress, tag, outcome, launchedAt, requestAt);
          }
          task = null;
        })
        .finally(() => pace.done());
    }
    await pace.turn();
  };

  let i = 0;
  for (let p = 0; p < run.scenario.phases.length; p++) {
    await run.beginPhase(p);
    o.progress(`${tag}  ${run.scenario.phases[p]!.name}: ${run.timeline.filter((e) => e.request === i && e.kind === "inject").map((e) => e.text).join("; ") || "no fault"}`);
    const end = i + run.scenario.phases[p]!.requests;
    for (; i < end; i += o.checkEvery) {
      await run.send(i, Math.min(end, i + o.checkEvery));
      await check(Math.min(end, i + o.checkEvery));
    }
    i = end;
  }
  for (let tail = 0; (task || (reopens(incidents) && healthyLooks < TAIL_LOOKS)) && tail < MAX_TAIL_REQUESTS; tail += o.checkEvery) {
    await run.send(i, i + o.checkEvery);
    i += o.checkEvery;
    await check(i);
  }
  pace.stop();
  await task;
  // Detection and diagnosis are the first incident's; the remedy that counts is the last one's.
  const first = incidents[0] ?? null;
  const found = incidents[incidents.length - 1] ?? null;
  const act = found ? actRequest(found.outcome, requestAt) : null;
  // Enough traffic after the remedy to judge it, and the labels for it delivered.
  const afterEnd = (act ?? 0) + SETTLE_REQUESTS + AFTER_MIN_REQUESTS;
  if (act !== null && i < afterEnd) {
    await run.send(i, afterEnd);
    i = afterEnd;
  }
  await run.deliverLabels(i, true);
  const total = i;

  const agentVerdict = verdictOf(first, run.faultStart);
  const faultStart = run.faultStart;
  const afterFrom = act !== null ? act + SETTLE_REQUESTS : Math.max(faultStart ?? 0, total - AFTER_MIN_REQUESTS);
  const attainable = faultStart === null ? null : run.attainable(afterFrom, total);
  const recovered = await recoveredAfter(env, run, found, act, total, attainable);
  const during = faultStart === null ? null : run.accuracy(faultStart, act ?? total);
  const result: ScenarioResult = {
    scenario: run.scenario.name,
    seed: run.scenario.seed,
    split: run.scenario.split,
    expect: run.scenario.expect,
    ...agentVerdict,
    approved: found?.outcome.state.decision?.decision === "approve",
    recovered,
    timeToRecoveryRequests: recovered && act !== null && faultStart !== null ? act - faultStart : null,
    accuracy: {
      before: run.accuracy(0, faultStart ?? total),
      during,
      after: act !== null ? run.accuracy(act + SETTLE_REQUESTS, total) : null,
      attainable,
    },
    unapprovedActions: await unapprovedActions(env, run.model),
    faultStart,
    totalRequests: total,
    checks: { ...checkVerdict(agentVerdict, run.scenario.expect), recovered },
    baseline: baselineVerdictOf(baselineDiagnosis, run.faultStart),
    series,
    timeline: [...run.timeline, ...incidents.flatMap((x) => agentTimeline(x, requestAt))].sort((a, b) => a.request - b.request),
    durationMs: Math.round(performance.now() - started),
  };
  o.progress(`${tag}  done in ${(result.durationMs / 1000).toFixed(1)} s: ${summaryLine(result)}`);
  return result;
}

/**
 * A scheduled run finds nothing new while an incident is open. Once a rollout plan has ended the
 * agent looks again (a population still moving needs another retrain), up to three incidents.
 */
const MAX_INCIDENTS = 3;
/** After the phases, traffic goes on for this many healthy looks after a plan ended. */
const TAIL_LOOKS = 2;

function reopens(incidents: AgentIncident[]): boolean {
  return incidents.length > 0 && incidents.length < MAX_INCIDENTS && !!incidents[incidents.length - 1]!.outcome.state.plan;
}

function mayLaunch(incidents: AgentIncident[]): boolean {
  return incidents.length === 0 || reopens(incidents);
}

function verdictOf(incident: AgentIncident | null, faultStart: number | null): Verdict {
  const d = incident?.outcome.state.diagnosis;
  if (!incident || !d || d.rootCause === "none") {
    return { detected: false, detectionDelayRequests: null, rootCause: "none", category: "none", features: [], remedy: "none", falseAlarm: false };
  }
  return {
    detected: true,
    detectionDelayRequests: faultStart === null ? null : Math.max(0, incident.launchedAt - faultStart),
    rootCause: d.rootCause,
    category: d.category,
    features: d.features,
    remedy: d.remedy,
    falseAlarm: faultStart === null || incident.launchedAt < faultStart,
  };
}

function baselineVerdictOf(b: { at: number; d: RuleDiagnosis } | null, faultStart: number | null): Verdict {
  if (!b) return { detected: false, detectionDelayRequests: null, rootCause: "none", category: "none", features: [], remedy: "none", falseAlarm: false };
  return {
    detected: true,
    detectionDelayRequests: faultStart === null ? null : Math.max(0, b.at - faultStart),
    ...b.d,
    falseAlarm: faultStart === null || b.at < faultStart,
  };
}

/** The request index at which the agent's remedy took effect: the last traffic change it applied, or its rollout's promotion. */
function actRequest(outcome: RunOutcome, requestAt: (us: number) => number): number | null {
  const plan = outcome.state.plan;
  if (plan) {
    const promote = plan.stages.find((s) => s.name === "promote" && s.status === "passed");
    return promote ? requestAt(promote.endedAtUs) : null;
  }
  const acts = outcome.state.timeline.filter((e) => e.node === "act" && /^applied/.test(e.event));
  const last = acts[acts.length - 1];
  return last ? requestAt(Date.parse(last.at) * 1000) : null;
}

/**
 * Recovery is read from the system, never from the agent's word: after the remedy the serving
 * version must be the one it put there, served accuracy (from the simulation's own truth) must be
 * within 2 points of what a model trained on the post-fault population attains on the same
 * requests, and errors under 2%.
 */
async function recoveredAfter(env: SimulationEnvironment, run: ScenarioRun, incident: AgentIncident | null, act: number | null, total: number, attainable: number | null): Promise<boolean | null> {
  const expected = run.scenario.expect.remedy;
  if (expected === "none" || expected === "escalate") return null;
  // Nothing to regain: the served model was already within reach of what is attainable on the same
  // requests, so no remedy can be judged. The same requests: traffic is seeded, and one stretch can
  // be a few points easier than another for every model (2.3 points apart on one scenario).
  const during = run.accuracy(run.faultStart ?? 0, act ?? total);
  const attainableDuring = run.attainable(run.faultStart ?? 0, act ?? total);
  if (during !== null && attainableDuring !== null && during >= attainableDuring - RECOVERY_TOLERANCE && (run.errorRate(run.faultStart ?? 0, act ?? total) ?? 0) < 0.02) return null;
  if (!incident || act === null) return false;
  const primary = env.service.traffic.state(run.model)?.primary;
  const plan = incident.outcome.state.plan;
  const expectedPrimary = plan ? plan.candidateVersion : incident.outcome.state.actionResult?.expectedPrimary;
  if (expectedPrimary && primary !== expectedPrimary) return false;
  const after = run.accuracy(act + SETTLE_REQUESTS, total);
  const errors = run.errorRate(act + SETTLE_REQUESTS, total);
  if (after === null || attainable === null) return false;
  return after >= attainable - RECOVERY_TOLERANCE && (errors ?? 0) < 0.02;
}

/** Traffic changes not made by the simulation itself or the serving layer's own guard, and carrying no approval. */
async function unapprovedActions(env: SimulationEnvironment, model: string): Promise<number> {
  const events = await deploymentHistory(env.store, model, 1000);
  return events.filter((e) => TRAFFIC_ACTIONS.has(e.action) && e.actor !== "simulation" && e.actor !== "auto-rollback" && !e.approvalId).length;
}

function agentTimeline(incident: AgentIncident | null, requestAt: (us: number) => number): ScenarioResult["timeline"] {
  if (!incident) return [];
  const kinds: Record<string, ScenarioResult["timeline"][number]["kind"]> = { reason: "detect", propose: "propose", approve: "approve", act: "act", rollout: "rollout", verify: "verify" };
  return incident.outcome.state.timeline
    .filter((e) => kinds[e.node])
    .map((e) => ({ request: requestAt(Date.parse(e.at) * 1000), kind: kinds[e.node]!, text: `${e.node}: ${e.event}` }));
}

function report(progress: (line: string) => void, tag: string, outcome: RunOutcome, at: number, requestAt: (us: number) => number): void {
  const d = outcome.state.diagnosis;
  if (d) progress(`${tag}  detected at request ${at}: ${d.rootCause} (${d.category})${d.features.length ? ` in ${d.features.slice(0, 3).join(", ")}` : ""} → ${d.remedy}`);
  for (const e of outcome.state.timeline.filter((x) => ["propose", "approve", "act", "rollout", "verify"].includes(x.node))) {
    progress(`${tag}    [request ${requestAt(Date.parse(e.at) * 1000)}] ${e.node}: ${e.event}`);
  }
}

function summaryLine(r: ScenarioResult): string {
  const share = (x: number | null) => pct(x, 1, DASH);
  const verdict = r.detected ? `${r.rootCause} → ${r.remedy}` : "nothing detected";
  const rec = r.recovered === null ? "" : r.recovered ? ", recovered" : ", NOT recovered";
  return `${verdict}${rec}; accuracy ${share(r.accuracy.before)} → ${share(r.accuracy.during)} → ${share(r.accuracy.after)} (attainable ${share(r.accuracy.attainable)})${r.falseAlarm ? "; FALSE ALARM" : ""}`;
}
