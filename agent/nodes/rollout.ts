import type { PlanView } from "../../rollout/plan-view.ts";
import type { AgentStateType, AgentUpdate, TimelineEntry, Verification } from "../state.ts";
import { ToolCallError } from "../tools.ts";
import { entry, numbered, type AgentDeps } from "./common.ts";

/**
 * Follows the approved rollout plan: asks the server to advance it every poll interval and writes
 * each stage change to the timeline (what `mlwatch chat` shows), until the plan ends. The server
 * judges every gate; the agent only keeps time. Past the agent's own deadline it aborts the plan,
 * which takes the candidate out of traffic, and hands over to a person.
 */
export async function rollout(state: AgentStateType, deps: AgentDeps): Promise<AgentUpdate> {
  let plan = state.plan!;
  const timeline: TimelineEntry[] = [];
  const deadline = deps.now() + deps.config.verify.rolloutDeadlineSeconds * 1000;
  const maxPolls = Math.ceil(deps.config.verify.rolloutDeadlineSeconds / deps.config.verify.pollSeconds) + 1;
  let seen = stageMark(plan);
  let previous = plan;
  for (let polls = 0; plan.status === "running"; polls++) {
    if (deps.now() >= deadline || polls >= maxPolls) {
      plan = await abort(deps, plan, `the agent's rollout deadline (${deps.config.verify.rolloutDeadlineSeconds} s) passed at ${plan.progress}`);
      break;
    }
    await deps.sleep(deps.config.verify.pollSeconds * 1000);
    try {
      plan = await deps.tools.advanceRollout(plan.id);
    } catch (err) {
      if (!(err instanceof ToolCallError)) throw err;
      timeline.push(entry(deps, "rollout", `advance_rollout failed: ${err.message}; retrying`));
      continue;
    }
    const mark = stageMark(plan);
    if (mark !== seen) timeline.push(...passedSince(previous, plan).map((line) => entry(deps, "rollout", line)), entry(deps, "rollout", plan.progress));
    seen = mark;
    previous = plan;
  }
  const evidence = numbered(state, [{ node: "rollout", tool: "advance_rollout", args: { plan_id: plan.id }, summary: plan.progress, data: plan }]);
  const recovered = plan.status === "completed";
  return {
    plan,
    verification: verificationOf(plan),
    evidence,
    status: recovered ? "recovered" : "escalated",
    timeline: [...timeline, entry(deps, "rollout", recovered ? `recovered: ${plan.outcome}` : `rollout ended ${plan.status}: ${plan.outcome}; a person should look`)],
  };
}

async function abort(deps: AgentDeps, plan: PlanView, reason: string): Promise<PlanView> {
  try {
    return await deps.tools.abortRollout({ plan_id: plan.id, reason });
  } catch (err) {
    if (!(err instanceof ToolCallError)) throw err;
    return { ...plan, status: "aborted", outcome: `${reason}; abort_rollout failed (${err.message})` };
  }
}

/** "shadow passed: candidate 93.1% vs primary 84.0% …" for each stage that passed since the last poll, with its figures. */
function passedSince(before: PlanView, after: PlanView): string[] {
  return after.stages.flatMap((s, i) => (s.status === "passed" && before.stages[i]?.status !== "passed" ? [`${s.name} passed: ${s.note} ${figuresLine(s.figures)}`] : []));
}

function figuresLine(f: Record<string, number | string | null>): string {
  const shown = Object.entries(f).filter(([k, v]) => v !== null && !k.endsWith("_us"));
  return shown.length ? `[${shown.map(([k, v]) => `${k}=${typeof v === "number" && !Number.isInteger(v) ? v.toFixed(3) : v}`).join(", ")}]` : "";
}

function stageMark(p: PlanView): string {
  return `${p.current}:${p.stages[p.current]?.status}:${p.status}`;
}

/** The plan's verify stage, read as the verification every incident reports. */
function verificationOf(plan: PlanView): Verification {
  const verify = plan.stages.find((s) => s.name === "verify");
  const f = verify?.figures ?? {};
  const num = (v: unknown) => (typeof v === "number" ? v : null);
  const after = { accuracy: num(f.accuracy), accuracySource: num(f.accuracy) === null ? null : ("realized" as const), rows: 0, labelled: num(f.labelled) ?? 0, errorRate: num(f.error_rate), p99Ms: null };
  return {
    recovered: plan.status === "completed",
    before: { accuracy: null, accuracySource: null, rows: 0, labelled: 0, errorRate: null, p99Ms: null },
    after,
    target: num(f.target),
    polls: 0,
    details: plan.outcome,
  };
}
