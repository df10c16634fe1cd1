import { findChangePoint } from "../analysis/change-point.ts";
import { compareVersions, getAccuracy, modelHealth, resolveWindow } from "../analysis/index.ts";
import { shadowEstimate, type ShadowEstimate } from "../analysis/shadow-estimate.ts";
import { iso, pct } from "../format.ts";
import { retrainFromLog } from "../models/retrain.ts";
import type { TrafficChange } from "../rollout/traffic-changes.ts";
import { canaryGate, collectGate, shadowGate, verifyGate, type GateResult, type ServedFigures } from "../rollout/gates.ts";
import { describeStage, isTerminal, PlanError, type GateOf, type Plan, type StageSpec, type StageState } from "../rollout/plan.ts";
import { getPlan, savePlan } from "../rollout/plan-store.ts";
import { currentTrafficState, recordDeploymentEvent } from "../store/deployments.ts";
import { postTrafficChange } from "../rollout/admin-client.ts";
import type { ApplyTarget } from "./actions.ts";

/** Bounds the training run inside the serving process (training blocks its event loop). */
const RETRAIN_MAX_ROWS = 20_000;
const ACTOR = "rollout";

/** One advance at a time per plan in this process: two callers must not both start a stage. */
const inFlight = new Map<string, Promise<Plan>>();

/**
 * Moves a plan on as far as its gates allow: starts the current stage (its traffic change), reads
 * its gate from the log, and on a pass goes to the next stage; a failed gate or a passed deadline
 * ends the plan and takes the candidate out of traffic. The only way a plan's traffic moves, so the
 * server, not the caller, decides every transition.
 */
export function advancePlan(target: ApplyTarget, id: string, nowUs: () => number): Promise<Plan> {
  const running = inFlight.get(id);
  if (running) return running;
  const p = advance(target, id, nowUs).finally(() => inFlight.delete(id));
  inFlight.set(id, p);
  return p;
}

async function advance(target: ApplyTarget, id: string, nowUs: () => number): Promise<Plan> {
  let plan = await getPlan(target.store, id);
  while (!isTerminal(plan)) {
    const at = plan.current;
    plan = await step(target, plan, nowUs());
    await savePlan(target.store, plan);
    if (plan.current === at) break;
  }
  return plan;
}

async function step(t: ApplyTarget, plan: Plan, now: number): Promise<Plan> {
  const spec = plan.spec.stages[plan.current]!;
  const state = plan.stages[plan.current]!;
  if (state.status === "pending") return enter(t, plan, spec, now);
  const gate = await readGate(t, plan, spec, state, now);
  const looks = spec.name === "shadow" && "look" in gate && gate.look ? state.looks + 1 : state.looks;
  const figures = { ...gate.figures };
  if (gate.verdict === "pass") return pass(t, withStage(plan, { ...state, figures, looks, note: gate.reason }, now), gate.reason, now);
  if (gate.verdict === "fail") return fail(t, withStage(plan, { ...state, figures, looks }, now), gate.reason, now);
  const overdue = now - state.startedAtUs > plan.spec.stageDeadlineSeconds * 1e6;
  if (overdue) return fail(t, withStage(plan, { ...state, figures, looks }, now), `${spec.name} did not pass within ${plan.spec.stageDeadlineSeconds} s: ${gate.reason}`, now);
  return withStage(plan, { ...state, figures, looks, note: gate.reason }, now);
}

/** Starts a stage: its traffic change or its work. Train and promote pass as soon as they are done. */
async function enter(t: ApplyTarget, plan: Plan, spec: StageSpec, now: number): Promise<Plan> {
  const started = withStage(plan, { ...plan.stages[plan.current]!, status: "running", startedAtUs: now, note: describeStage(spec) }, now);
  await audit(t, started, `rollout_${spec.name}`, `stage ${plan.current + 1}/${plan.spec.stages.length} started: ${describeStage(spec)}`);
  try {
    switch (spec.name) {
      case "train":
        return pass(t, await train(t, started, now), "candidate trained", now);
      case "shadow":
        await change(t, started, { action: "deploy", role: "shadow", version: started.candidateVersion, percent: spec.gate.percent }, "shadow the candidate");
        return started;
      case "canary":
        await enterCanary(t, started, spec.gate.percent);
        return started;
      case "promote":
        await change(t, started, { action: "promote", version: started.candidateVersion }, "promote the candidate");
        // The base version shadows the new primary while it is verified: "worse than before?" is then a paired question.
        await change(t, started, { action: "deploy", role: "shadow", version: started.baseVersion, percent: 100 }, "shadow the base version during verify");
        return pass(t, started, `v${started.candidateVersion} is primary; v${started.baseVersion} shadows it`, now);
      default:
        return started;
    }
  } catch (err) {
    return fail(t, started, `${spec.name} could not start: ${err instanceof Error ? err.message : String(err)}`, now);
  }
}

async function train(t: ApplyTarget, plan: Plan, now: number): Promise<Plan> {
  const r = await retrainFromLog(t.store, t.config.modelDir, {
    model: plan.model,
    baseVersion: plan.baseVersion,
    fromUs: postChangeFrom(plan),
    toUs: now,
    maxRows: RETRAIN_MAX_ROWS,
    minRows: 1,
    actor: ACTOR,
    reason: `rollout plan ${plan.id}`,
  });
  await recordDeploymentEvent(t.store, { model: plan.model, action: "retrain", version: r.version.version, previousVersion: plan.baseVersion, actor: ACTOR, reason: `rollout plan ${plan.id}: ${r.recipe} on ${r.trainedOnRows} rows`, proposalId: plan.proposalId, approvalId: plan.approvalId });
  const figures = {
    candidate: r.version.version,
    recipe: r.recipe,
    kind: r.kind,
    post_change_rows: r.postChangeRows,
    trained_on_rows: r.trainedOnRows,
    held_out_rows: r.heldOutRows,
    held_out_accuracy: r.heldOutAccuracy,
    serving_accuracy_same_rows: r.servingAccuracy,
    // The base version's kind unsuffixed; a competing kind's candidates carry its name.
    ...Object.fromEntries(r.candidates.map((c) => [`recipe_${c.recipe}${c.kind === r.candidates[0]!.kind ? "" : `_${c.kind}`}`, c.heldOutAccuracy])),
    domain_balanced_accuracy: r.reweighting?.domainBalancedAccuracy ?? null,
  };
  return { ...withStage(plan, { ...plan.stages[plan.current]!, figures }, now), candidateVersion: r.version.version };
}

/** The first canary stage replaces the shadow; later ones only raise the share. */
async function enterCanary(t: ApplyTarget, plan: Plan, percent: number): Promise<void> {
  const { state } = await currentTrafficState(t.store, plan.model);
  if (state.canary?.version === plan.candidateVersion) {
    await change(t, plan, { action: "set_split", canaryPercent: percent }, `canary to ${percent}%`);
    return;
  }
  if (state.shadow?.version === plan.candidateVersion) await change(t, plan, { action: "remove", role: "shadow" }, "end the shadow stage");
  await change(t, plan, { action: "deploy", role: "canary", version: plan.candidateVersion, percent }, `canary at ${percent}%`);
}

/** CBPE on every shadowed request, labelled or not: shown beside the gate, never deciding it (an estimate trusts calibration the labels test). */
function withEstimate<G extends GateResult>(gate: G, e: ShadowEstimate): G {
  const round = (x: number | null) => (x === null ? null : Number(x.toFixed(4)));
  return {
    ...gate,
    figures: { ...gate.figures, estimated_requests: e.requests, estimated_candidate_accuracy: round(e.shadow), estimated_primary_accuracy: round(e.primary) },
    reason: `${gate.reason}; CBPE estimate on all ${e.requests} shadowed requests: candidate ${pct(e.shadow)}, primary ${pct(e.primary)}`,
  };
}

async function readGate(t: ApplyTarget, plan: Plan, spec: StageSpec, state: StageState, now: number): Promise<GateResult & { look?: boolean }> {
  const window = { fromUs: state.startedAtUs, toUs: now + 1 };
  switch (spec.name) {
    case "collect":
      return collect(t, plan, spec.gate, state, now);
    case "shadow": {
      const [c, estimate] = await Promise.all([
        compareVersions(t.store, { model: plan.model, versionA: plan.baseVersion, versionB: plan.candidateVersion, window, mode: "shadow" }),
        shadowEstimate(t.store, { model: plan.model, primary: plan.baseVersion, shadow: plan.candidateVersion, window: resolveWindow(window) }),
      ]);
      const s = c.shadow;
      const pairs = s
        ? { labelledPairs: s.labelledPairs, primaryCorrect: s.bothCorrect + s.onlyA, candidateCorrect: s.bothCorrect + s.onlyB, onlyCandidate: s.onlyB, onlyPrimary: s.onlyA }
        : { labelledPairs: 0, primaryCorrect: 0, candidateCorrect: 0, onlyCandidate: 0, onlyPrimary: 0 };
      return withEstimate(shadowGate(spec.gate, pairs, state.looks), estimate);
    }
    case "canary": {
      const c = await compareVersions(t.store, { model: plan.model, versionA: plan.baseVersion, versionB: plan.candidateVersion, window, mode: "window" });
      return canaryGate(spec.gate, served(c.b), served(c.a));
    }
    case "verify": {
      const [acc, health, c] = await Promise.all([
        getAccuracy(t.store, { model: plan.model, version: plan.candidateVersion, window }),
        modelHealth(t.store, { model: plan.model, window }),
        compareVersions(t.store, { model: plan.model, versionA: plan.baseVersion, versionB: plan.candidateVersion, window, mode: "shadow" }),
      ]);
      const shadow = plan.stages[plan.spec.stages.findIndex((s) => s.name === "shadow")]?.figures.candidate_accuracy;
      const figures: ServedFigures = { rows: acc.predictions, errorRate: health.served.errorRate, p99Ms: health.served.latencyMs?.p99 ?? null, labelled: acc.labelled, accuracy: acc.accuracy };
      const base = c.shadow ? { labelledPairs: c.shadow.labelledPairs, primaryCorrect: c.shadow.bothCorrect + c.shadow.onlyA, candidateCorrect: c.shadow.bothCorrect + c.shadow.onlyB, onlyCandidate: c.shadow.onlyB, onlyPrimary: c.shadow.onlyA } : null;
      const result = verifyGate(spec.gate, figures, typeof shadow === "number" ? shadow : null, base);
      if (result.verdict !== "wait") await endBaseShadow(t, plan);
      return result;
    }
    default:
      return { verdict: "pass", figures: {}, reason: "done" };
  }
}

/**
 * Labels are counted from the latest change: while the population is still moving (a ramp), a
 * change found after the current change point moves it forward, so the candidate learns what
 * traffic has become rather than a mixture of the way there.
 */
async function collect(t: ApplyTarget, plan: Plan, gate: GateOf<"collect">, state: StageState, now: number): Promise<GateResult> {
  const from = typeof state.figures.change_at_us === "number" ? state.figures.change_at_us : plan.spec.changeAtUs;
  const later = await findChangePoint(t.store, { model: plan.model, version: plan.baseVersion, window: { fromUs: from, toUs: now + 1 } }, now);
  // A later change starts the new population; a trend with no single change is a ramp still going, so the older half goes.
  const trend = later.trends[0];
  const changeAtUs = later.change ? later.change.atUs : trend ? Math.round((from + now) / 2) : from;
  const acc = await getAccuracy(t.store, { model: plan.model, window: { fromUs: changeAtUs, toUs: now + 1 } });
  const moved = later.change
    ? `; the change point moved to ${iso(changeAtUs)} (${later.change.signal} changed again)`
    : trend
      ? `; ${trend.signal} is still drifting (p=${trend.pValue.toPrecision(2)}): the change point moved to ${iso(changeAtUs)}`
      : "";
  const result = collectGate(gate, acc.labelled);
  const settled = !later.change && !trend;
  return { verdict: settled ? result.verdict : "wait", reason: `${result.reason}${moved}`, figures: { ...result.figures, change_at_us: changeAtUs, change_at: iso(changeAtUs) } };
}

/** Where the post-change rows begin, as the collect stage last settled it. */
function postChangeFrom(plan: Plan): number {
  const collected = plan.stages[plan.spec.stages.findIndex((s) => s.name === "collect")]?.figures.change_at_us;
  return typeof collected === "number" ? collected : plan.spec.changeAtUs;
}

async function endBaseShadow(t: ApplyTarget, plan: Plan): Promise<void> {
  const { state } = await currentTrafficState(t.store, plan.model);
  if (state.shadow?.version === plan.baseVersion) await change(t, plan, { action: "remove", role: "shadow" }, "verification over: end the base version's shadow");
}

function served(s: { rows: number; errorRate: number; latencyMs: { p99: number } | null; labelled: number; accuracy: number | null }): ServedFigures {
  return { rows: s.rows, errorRate: s.errorRate, p99Ms: s.latencyMs?.p99 ?? null, labelled: s.labelled, accuracy: s.accuracy };
}

async function pass(t: ApplyTarget, plan: Plan, reason: string, now: number): Promise<Plan> {
  const spec = plan.spec.stages[plan.current]!;
  const done = withStage(plan, { ...plan.stages[plan.current]!, status: "passed", endedAtUs: now, note: reason }, now);
  await audit(t, done, `rollout_${spec.name}`, `stage ${plan.current + 1}/${plan.spec.stages.length} ${spec.name} passed: ${reason} ${JSON.stringify(done.stages[plan.current]!.figures)}`);
  const last = plan.current + 1 >= plan.spec.stages.length;
  return last ? { ...done, status: "completed", outcome: `v${plan.candidateVersion} rolled out and verified: ${reason}` } : { ...done, current: plan.current + 1 };
}

/** A failed stage ends the plan and takes the candidate out of traffic; after promotion, back to the base version. */
async function fail(t: ApplyTarget, plan: Plan, reason: string, now: number): Promise<Plan> {
  const failed = withStage(plan, { ...plan.stages[plan.current]!, status: "failed", endedAtUs: now, note: reason }, now);
  const undone = await unwind(t, failed);
  const ended: Plan = { ...failed, status: "failed", outcome: `${plan.spec.stages[plan.current]!.name} failed: ${reason}${undone ? `; ${undone}` : ""}` };
  await audit(t, ended, "rollout_failed", ended.outcome);
  return ended;
}

/** Stops a running plan on a person's word, with the same unwinding as a failed gate. */
export async function abortPlan(t: ApplyTarget, id: string, by: string, reason: string, nowUs: number): Promise<Plan> {
  const plan = await getPlan(t.store, id);
  if (isTerminal(plan)) throw new PlanError(`rollout plan ${id} already ended (${plan.status}: ${plan.outcome})`);
  const stopped = withStage(plan, { ...plan.stages[plan.current]!, status: "failed", endedAtUs: nowUs, note: `aborted by ${by}: ${reason}` }, nowUs);
  const undone = await unwind(t, stopped);
  const ended: Plan = { ...stopped, status: "aborted", outcome: `aborted by ${by} at ${plan.spec.stages[plan.current]!.name}: ${reason}${undone ? `; ${undone}` : ""}` };
  await savePlan(t.store, ended);
  await audit(t, ended, "rollout_aborted", ended.outcome);
  return ended;
}

async function unwind(t: ApplyTarget, plan: Plan): Promise<string> {
  const v = plan.candidateVersion;
  if (!v) return "";
  const { state } = await currentTrafficState(t.store, plan.model);
  try {
    if (state.primary === v) {
      await change(t, plan, { action: "rollback", version: plan.baseVersion }, "roll back to the base version");
      return `rolled back to v${plan.baseVersion}`;
    }
    const undone: string[] = [];
    if (state.canary?.version === v) {
      await change(t, plan, { action: "remove", role: "canary" }, "end the canary");
      undone.push("canary removed");
    }
    if (state.shadow?.version === v || state.shadow?.version === plan.baseVersion) {
      await change(t, plan, { action: "remove", role: "shadow" }, "end the shadow");
      undone.push("shadow removed");
    }
    return undone.join(", ");
  } catch (err) {
    return `UNWINDING FAILED, a person must restore traffic: ${err instanceof Error ? err.message : String(err)}`;
  }
}

async function change(t: ApplyTarget, plan: Plan, c: TrafficChange, what: string): Promise<void> {
  const { eventId } = await currentTrafficState(t.store, plan.model);
  await postTrafficChange(t.inferenceUrl, t.adminToken, plan.model, c, {
    actor: ACTOR,
    reason: `rollout plan ${plan.id}, stage ${plan.spec.stages[plan.current]!.name}: ${what} [proposal ${plan.proposalId}, approved by ${plan.approvedBy}]`,
    proposalId: plan.proposalId,
    approvalId: plan.approvalId,
    expectedEventId: eventId ?? "",
  });
}

async function audit(t: ApplyTarget, plan: Plan, action: string, reason: string): Promise<void> {
  await recordDeploymentEvent(t.store, { model: plan.model, action, version: plan.candidateVersion, previousVersion: plan.baseVersion, actor: ACTOR, reason: `plan ${plan.id}: ${reason}`.slice(0, 4000), proposalId: plan.proposalId, approvalId: plan.approvalId });
}

function withStage(plan: Plan, stage: StageState, now: number): Plan {
  // Strictly increasing: the newest row must win even when the clock has not moved between two writes.
  return { ...plan, stages: plan.stages.map((s, i) => (i === plan.current ? stage : s)), updatedAtUs: Math.max(now, plan.updatedAtUs + 1) };
}
