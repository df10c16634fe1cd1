import type { Store } from "../store/client.ts";
import { currentTrafficState, recordDeploymentEvent, type StoredDeploymentEvent, type TrafficState } from "../store/deployments.ts";
import { getVersion, setStatus, type LifecycleStatus } from "../models/registry.ts";
import { modelVersionsTable } from "../store/tables.ts";
import { applyChange, versionsIn, type TrafficChange } from "../rollout/traffic-changes.ts";
import { banditAllocation, priorAllocation, type ArmAllocation } from "../rollout/bandit.ts";

export interface ChangeRequest {
  model: string;
  change: TrafficChange;
  actor: string;
  reason: string;
  proposalId?: string;
  approvalId?: string;
  autoApproved?: boolean;
  /** Optimistic concurrency: refuse unless the newest state event is still this one. */
  expectedEventId?: string;
}

export class ConflictError extends Error {}

interface ModelTraffic {
  state: TrafficState;
  eventId: string | null;
}

/**
 * Which version serves what, read from the `deployments` log so a restarted service or another
 * replica arrives at the same state. Changes within this process are serialised per model; across
 * replicas the optimistic check narrows, but cannot close, the race (ClickHouse has no transactions).
 */
export class TrafficController {
  private readonly models = new Map<string, ModelTraffic>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: ((model: string, state: TrafficState) => void)[] = [];
  private readonly allocations = new Map<string, ArmAllocation[]>();
  private readonly allocationListeners: ((model: string, allocation: readonly ArmAllocation[]) => void)[] = [];

  constructor(private readonly store: Store) {}

  /** Loads every registered model's state, then keeps it fresh; a replica converges within pollMs. */
  async start(pollMs: number): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch(() => undefined), pollMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  onChange(listener: (model: string, state: TrafficState) => void): void {
    this.listeners.push(listener);
  }

  /** Told each time a running bandit's allocation is computed (on every poll). */
  onAllocation(listener: (model: string, allocation: readonly ArmAllocation[]) => void): void {
    this.allocationListeners.push(listener);
  }

  /** The running bandit's shares, recomputed from the store on every poll; undefined without a bandit. */
  allocation(model: string): readonly ArmAllocation[] | undefined {
    return this.allocations.get(model);
  }

  state(model: string): TrafficState | undefined {
    return this.models.get(model)?.state;
  }

  eventId(model: string): string | null {
    return this.models.get(model)?.eventId ?? null;
  }

  modelNames(): string[] {
    return [...this.models.keys()];
  }

  async refresh(): Promise<void> {
    const names = await this.store.rows<{ model: string }>(`SELECT DISTINCT model FROM ${this.store.table(modelVersionsTable.name)}`);
    for (const { model } of names) {
      // Under the model's lock: a read that started before a local change was recorded must not
      // land after it and put the old state back until the next poll.
      await this.serialise(model, async () => {
        const fresh = await currentTrafficState(this.store, model);
        const known = this.models.get(model);
        if (!known || known.eventId !== fresh.eventId) this.set(model, fresh);
      });
      await this.reallocate(model);
    }
  }

  async change(request: ChangeRequest): Promise<StoredDeploymentEvent> {
    return this.serialise(request.model, async () => {
      const current = await currentTrafficState(this.store, request.model);
      if (request.expectedEventId !== undefined && request.expectedEventId !== (current.eventId ?? "")) {
        throw new ConflictError(
          `traffic for '${request.model}' changed since event ${request.expectedEventId || "(none)"}; now at ${current.eventId ?? "(none)"}: re-read the state and decide again`,
        );
      }
      const next = applyChange(current.state, request.change);
      for (const v of versionsIn(next)) await getVersion(this.store, request.model, v);
      const event = await recordDeploymentEvent(this.store, {
        model: request.model,
        action: request.change.action,
        version: "version" in request.change ? (request.change.version ?? next.primary ?? "") : "",
        previousVersion: current.state.primary ?? "",
        state: next,
        actor: request.actor,
        reason: request.reason,
        proposalId: request.proposalId,
        approvalId: request.approvalId,
        autoApproved: request.autoApproved,
      });
      await this.syncStatuses(request.model, current.state, next);
      this.set(request.model, { state: next, eventId: event.eventId });
      return event;
    });
  }

  private set(model: string, traffic: ModelTraffic): void {
    const before = this.models.get(model)?.state.bandit;
    this.models.set(model, traffic);
    const bandit = traffic.state.bandit;
    if (!bandit) this.allocations.delete(model);
    else if (!before || before.sinceUs !== bandit.sinceUs) this.allocations.set(model, priorAllocation(bandit));
    for (const l of this.listeners) l(model, traffic.state);
  }

  /** From the store's counts; a state changed while the counts were read keeps its own allocation. */
  private async reallocate(model: string): Promise<void> {
    const bandit = this.models.get(model)?.state.bandit;
    if (!bandit) return;
    const allocation = await banditAllocation(this.store, model, bandit);
    if (this.models.get(model)?.state.bandit?.sinceUs !== bandit.sinceUs) return;
    this.allocations.set(model, allocation);
    for (const l of this.allocationListeners) l(model, allocation);
  }

  private async serialise<T>(model: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(model) ?? Promise.resolve();
    const run = before.then(fn, fn);
    this.locks.set(model, run.catch(() => undefined));
    return run;
  }

  /** The registry's lifecycle status follows the traffic state, so `models list` tells the truth. */
  private async syncStatuses(model: string, before: TrafficState, after: TrafficState): Promise<void> {
    // A bandit arm takes a share of live traffic, as a canary does.
    const role = (s: TrafficState, v: string): LifecycleStatus | null =>
      s.primary === v ? "production" : s.canary?.version === v || s.bandit?.arms.includes(v) ? "canary" : s.shadow?.version === v ? "shadow" : null;
    for (const v of new Set([...versionsIn(before), ...versionsIn(after)])) {
      const [was, now] = [role(before, v), role(after, v)];
      if (was !== now) await setStatus(this.store, model, v, now ?? "staging");
    }
  }
}
