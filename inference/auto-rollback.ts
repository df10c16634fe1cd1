import type { TrafficState } from "../store/deployments.ts";
import type { Variant } from "../store/tables.ts";
import type { TrafficController } from "./traffic.ts";

export interface GuardOptions {
  minRequests: number;
  maxErrorRate: number;
  maxP99Ms: number;
}

interface Watch {
  version: string;
  /** Rolling window of the candidate's last minRequests outcomes. */
  latencies: Float64Array;
  failures: Uint8Array;
  seen: number;
  tripped: boolean;
}

/** How long a newly promoted primary stays on probation, in multiples of the window. */
const PROBATION_WINDOWS = 5;

/**
 * The serving layer's own safety net, independent of the agent: a canary, or a primary that has just
 * replaced another, is rolled back when its error rate or p99 latency over its last minRequests
 * requests crosses a bound. A promoted primary is only watched for its first few windows, so an
 * infrastructure fault hitting a long-settled version is left to people and the agent.
 */
export class AutoRollbackGuard {
  private readonly watches = new Map<string, Watch>();

  constructor(
    private readonly traffic: TrafficController,
    private readonly options: GuardOptions,
    private readonly onRollback: (model: string, version: string, reason: string, err?: unknown) => void = () => undefined,
  ) {
    traffic.onChange((model, state) => this.rearm(model, state));
    for (const model of traffic.modelNames()) {
      const state = traffic.state(model);
      if (state) this.rearm(model, state);
    }
  }

  record(model: string, version: string, variant: Variant, latencyMs: number, failed: boolean): void {
    // A bandit already moves traffic off a failing arm by its reward; a rollback would not touch it.
    if (variant === "shadow" || variant === "bandit") return;
    const w = this.watches.get(model);
    if (!w || w.tripped || w.version !== version) return;
    const n = this.options.minRequests;
    w.latencies[w.seen % n] = latencyMs;
    w.failures[w.seen % n] = failed ? 1 : 0;
    w.seen++;
    if (w.seen >= n) this.evaluate(model, w);
    if (w.seen >= n * PROBATION_WINDOWS && this.traffic.state(model)?.canary?.version !== version) this.watches.delete(model);
  }

  private rearm(model: string, state: TrafficState): void {
    const candidate = state.canary?.version ?? (state.previous ? state.primary : null);
    const current = this.watches.get(model);
    if (!candidate) {
      this.watches.delete(model);
      return;
    }
    if (current?.version === candidate && !current.tripped) return;
    const n = this.options.minRequests;
    this.watches.set(model, { version: candidate, latencies: new Float64Array(n), failures: new Uint8Array(n), seen: 0, tripped: false });
  }

  private evaluate(model: string, w: Watch): void {
    const errorRate = w.failures.reduce((a, b) => a + b, 0) / w.failures.length;
    const p99 = percentile99(w.latencies);
    const { maxErrorRate, maxP99Ms, minRequests } = this.options;
    if (errorRate <= maxErrorRate && p99 <= maxP99Ms) return;
    w.tripped = true;
    const reason =
      errorRate > maxErrorRate
        ? `error rate ${(errorRate * 100).toFixed(1)}% over the last ${minRequests} requests exceeds ${(maxErrorRate * 100).toFixed(1)}%`
        : `p99 latency ${p99.toFixed(1)} ms over the last ${minRequests} requests exceeds ${maxP99Ms} ms`;
    this.traffic
      .change({ model, change: { action: "rollback" }, actor: "auto-rollback", reason: `automatic rollback of version ${w.version}: ${reason}` })
      .then(() => this.onRollback(model, w.version, reason))
      .catch((err) => this.onRollback(model, w.version, reason, err));
  }
}

function percentile99(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] ?? 0;
}
