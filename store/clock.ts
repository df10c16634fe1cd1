import { performance } from "node:perf_hooks";

/** Where "now" comes from: the wall clock, or a simulation's virtual clock. */
export type TimeSource = () => number;

const wallClock: TimeSource = () => Math.floor((performance.timeOrigin + performance.now()) * 1000);

let source: TimeSource = wallClock;
let last = 0;

/**
 * Microseconds since the epoch, strictly increasing within this process. Events that order state
 * (deployments) must never tie: two changes in one millisecond would otherwise sort by a random id.
 * Every timestamp mlwatch writes and every window it reads comes from here, so a simulation that
 * swaps the source runs all roles of one process on the same virtual time.
 */
export function nowMicros(): number {
  const now = source();
  last = now > last ? now : last + 1;
  return last;
}

/** For simulations only: all roles in this process follow `next` until `useWallClock()`. */
export function useTimeSource(next: TimeSource): void {
  source = next;
}

export function useWallClock(): void {
  source = wallClock;
}
