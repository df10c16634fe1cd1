import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";

/** What a simulation may inject into serving; the route exists only with MLWATCH_FAULT_INJECTION=1. */
export const faultSettingsSchema = z
  .object({
    extraLatencyMs: z.number().min(0).max(10_000).default(0),
    latencyFraction: z.number().min(0).max(1).default(0),
    errorFraction: z.number().min(0).max(1).default(0),
  })
  .strict();
export type FaultSettings = z.infer<typeof faultSettingsSchema>;

export class InjectedFault extends Error {}

/**
 * Infrastructure faults on demand, so the whole loop (detection, diagnosis, rollback) can be
 * exercised against a real server. Draws come from a seeded generator: a scenario replays the same
 * faults on the same requests.
 */
export class FaultInjector {
  private readonly faults = new Map<string, FaultSettings>();
  private state = 0x9e3779b9;

  set(model: string, settings: FaultSettings): void {
    if (settings.extraLatencyMs === 0 && settings.errorFraction === 0) this.faults.delete(model);
    else this.faults.set(model, settings);
  }

  get(model: string): FaultSettings | undefined {
    return this.faults.get(model);
  }

  /**
   * Called inside the timed region of a scoring call: a delay shows in latency, a throw as a failure.
   * Returns the delay injected; with `virtual` it is only returned, not slept, for a caller that
   * counts latency on a virtual clock.
   */
  async before(model: string, virtual = false): Promise<number> {
    const f = this.faults.get(model);
    if (!f) return 0;
    const delayMs = f.extraLatencyMs > 0 && this.draw() < f.latencyFraction ? f.extraLatencyMs : 0;
    if (delayMs > 0 && !virtual) await sleep(delayMs);
    if (this.draw() < f.errorFraction) throw new InjectedFault("injected fault: simulated backend error");
    return delayMs;
  }

  private draw(): number {
    // xorshift32: deterministic across runs, good enough for choosing which requests fail.
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 2 ** 32;
  }
}
