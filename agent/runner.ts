import { randomBytes, randomUUID } from "node:crypto";
import { Command, type BaseCheckpointSaver } from "@langchain/langgraph";
import type { AgentGraph } from "./graph.ts";
import { incidentRecord, type IncidentSink } from "./incident-record.ts";
import type { ApprovalRequest, DecisionInput } from "./nodes/approve.ts";
import type { AgentStateType, IncidentSummary, Status, Trigger } from "./state.ts";

/** A request the runner cannot honour (unknown incident, not waiting, not stalled). */
export class RunnerError extends Error {}

export interface RunOutcome {
  incidentId: string;
  model: string;
  status: Status;
  /** Set while the run waits for a person. */
  awaiting: ApprovalRequest | null;
  /** Nodes still to run (empty once the run ended). */
  next: string[];
  incident: IncidentSummary | null;
  updatedAt: string | null;
  state: AgentStateType;
}

export interface Launched {
  incidentId: string;
  runId: string;
  /** An incident for this model was already open; no new run was started. */
  deduplicated: boolean;
  done: Promise<RunOutcome>;
}

export interface RunnerOptions {
  now?: () => number;
  staleAfterMs?: number;
  /** Unset: the incident is kept in the checkpoint only (graph tests). */
  record?: IncidentSink;
}

/**
 * Starts, resumes and lists runs. The thread id is the incident id, so a run that waits for
 * approval is found again after a restart from the checkpointer alone. Healthy runs leave nothing
 * behind: their thread is deleted as soon as they end.
 */
export class AgentRunner {
  /** Runs started by this process and not ended yet, by model. */
  private readonly inflight = new Map<string, Launched>();

  constructor(
    private readonly graph: AgentGraph,
    private readonly checkpointer: BaseCheckpointSaver,
    private readonly options: RunnerOptions = {},
  ) {}

  /** One run to its end or its interrupt. */
  async start(model: string, trigger: Trigger = { kind: "schedule" }): Promise<RunOutcome & { deduplicated: boolean }> {
    const launched = await this.launch(model, trigger);
    return { ...(await launched.done), deduplicated: launched.deduplicated };
  }

  /** Starts a run without waiting for it (the alert webhook answers 202 at once). */
  async launch(model: string, trigger: Trigger = { kind: "schedule" }): Promise<Launched> {
    const running = this.inflight.get(model);
    if (running) return { ...running, deduplicated: true };
    const open = await this.openIncident(model);
    if (open) return { incidentId: open.incidentId, runId: "", deduplicated: true, done: Promise.resolve(open) };
    const again = this.inflight.get(model);
    if (again) return { ...again, deduplicated: true };
    const incidentId = newIncidentId(model, this.now());
    const runId = randomUUID();
    const done = (async () => {
      try {
        await this.drive({ model, incidentId, trigger }, incidentId, runId);
        const outcome = await this.outcome(incidentId);
        if (outcome.status === "healthy" && outcome.next.length === 0) await this.checkpointer.deleteThread(incidentId);
        return outcome;
      } finally {
        this.inflight.delete(model);
      }
    })();
    const launched = { incidentId, runId, deduplicated: false, done };
    this.inflight.set(model, launched);
    return launched;
  }

  /** Resumes a run waiting for approval with the person's decision. */
  async resume(incidentId: string, decision: DecisionInput): Promise<RunOutcome> {
    const before = await this.outcome(incidentId);
    if (!before.awaiting) throw new RunnerError(`incident ${incidentId} is not waiting for a decision (status ${before.status})`);
    await this.drive(new Command({ resume: decision }), incidentId);
    return this.outcome(incidentId);
  }

  /** Resumes the run that waits on `proposalId` (a person decided it elsewhere, in the console); null when none waits on it here. */
  async resumeFor(proposalId: string, decision: DecisionInput): Promise<RunOutcome | null> {
    const waiting = (await this.pending()).find((i) => i.awaiting?.proposalId === proposalId);
    return waiting ? this.resume(waiting.incidentId, decision) : null;
  }

  /** Finishes a run its process left mid-way (stopped during verify, say): it goes on from its last checkpoint. */
  async continueRun(incidentId: string): Promise<RunOutcome> {
    const before = await this.outcome(incidentId);
    if (before.awaiting || before.next.length === 0) throw new RunnerError(`incident ${incidentId} is ${before.awaiting ? "waiting for a decision" : "closed"}, not stalled`);
    await this.drive(null, incidentId);
    return this.outcome(incidentId);
  }

  /** Runs the graph to its end or interrupt, recording the incident after every step. */
  private async drive(input: Parameters<AgentGraph["stream"]>[0], incidentId: string, runId?: string): Promise<void> {
    const stream = await this.graph.stream(input, { configurable: { thread_id: incidentId }, streamMode: "values", ...(runId ? { runId } : {}) });
    for await (const values of stream) {
      // A chunk may be the interrupt alone, without the state's channels.
      if (!this.options.record || !Array.isArray((values as Partial<AgentStateType>).timeline)) continue;
      const record = incidentRecord(values as AgentStateType);
      if (record) await this.options.record(record);
    }
  }

  async outcome(incidentId: string): Promise<RunOutcome> {
    const snap = await this.graph.getState({ configurable: { thread_id: incidentId } });
    const state = snap.values as AgentStateType;
    if (!state.incidentId) throw new RunnerError(`no incident ${incidentId}`);
    const awaiting = (snap.tasks.flatMap((t) => t.interrupts)[0]?.value as ApprovalRequest | undefined) ?? null;
    return { incidentId, model: state.model, status: state.status, awaiting, next: [...snap.next], incident: state.incident, updatedAt: snap.createdAt ?? null, state };
  }

  /** Every incident kept by the checkpointer, newest first. */
  async incidents(): Promise<RunOutcome[]> {
    const ids = new Set<string>();
    for await (const t of this.checkpointer.list({ configurable: {} })) {
      const id = t.config.configurable?.thread_id;
      if (typeof id === "string" && !t.config.configurable?.checkpoint_ns) ids.add(id);
    }
    const out = await Promise.all([...ids].map((id) => this.outcome(id).catch(() => null)));
    return out.filter((o): o is RunOutcome => o !== null).sort((a, b) => (b.updatedAt ?? "").localeCompare(a.updatedAt ?? ""));
  }

  async pending(): Promise<RunOutcome[]> {
    return (await this.incidents()).filter((i) => i.awaiting);
  }

  /** Waiting for a person, or still running and not stale: a new run for the model would duplicate it. */
  async openIncident(model: string): Promise<RunOutcome | null> {
    const stale = this.options.staleAfterMs ?? 30 * 60_000;
    // updatedAt is the checkpoint's own stamp, always wall-clock time: a simulation's virtual `now` must not judge it.
    const open = (await this.incidents()).find(
      (i) => i.model === model && (i.awaiting !== null || (i.next.length > 0 && Date.now() - Date.parse(i.updatedAt ?? "0") < stale)),
    );
    return open ?? null;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

function newIncidentId(model: string, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `inc-${model}-${stamp}-${randomBytes(3).toString("hex")}`;
}
