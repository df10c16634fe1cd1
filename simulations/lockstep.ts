import { nowMicros } from "../store/clock.ts";

/** A turn that takes longer than this in real time is a hang, not a slow machine. */
const TURN_LIMIT_MS = 300_000;

/**
 * Traffic and the agent take turns on the virtual clock, so a run gives the same verdict whatever
 * the machine's speed. Traffic flows only while the agent sleeps; the agent wakes only between two
 * batches of traffic, once the log holds every answered row; and the next batch waits until the
 * agent sleeps again or its run ends. Without it, what the agent reads depends on how many requests
 * a loaded machine sent while its tools ran.
 */
export class Lockstep {
  private sleepers: { untilUs: number; wake: () => void }[] = [];
  /** Agent runs and woken sleeps that are computing now. */
  private busy = 0;
  private idleWaiters: (() => void)[] = [];
  private flowing = true;

  /** The agent's sleep: returns at the first turn at or after `ms` of virtual time, at once after traffic ended. */
  sleep(ms: number): Promise<void> {
    if (!this.flowing) return Promise.resolve();
    const untilUs = nowMicros() + ms * 1000;
    return new Promise((wake) => {
      this.sleepers.push({ untilUs, wake });
      this.done();
    });
  }

  /** An agent run starts computing; pair with `done` when it ends. */
  started(): void {
    this.busy++;
  }

  done(): void {
    this.busy--;
    if (this.busy === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Between two batches, once the answered rows are readable: the sleeps that are due wake, and the turn ends when the agent sleeps again or has nothing running. */
  async turn(): Promise<void> {
    const now = nowMicros();
    const due = this.sleepers.filter((s) => s.untilUs <= now);
    this.sleepers = this.sleepers.filter((s) => s.untilUs > now);
    for (const s of due) {
      this.busy++;
      s.wake();
    }
    await this.idle();
  }

  /** Traffic ended: every sleeper wakes now, and later sleeps return at once. */
  stop(): void {
    this.flowing = false;
    for (const s of this.sleepers.splice(0)) {
      this.busy++;
      s.wake();
    }
  }

  /** A new scenario: traffic flows again. */
  resume(): void {
    this.flowing = true;
  }

  private idle(): Promise<void> {
    if (this.busy === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`simulation: the agent neither slept nor ended within ${TURN_LIMIT_MS / 1000} s of real time`)), TURN_LIMIT_MS);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
