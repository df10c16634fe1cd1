import { performance } from "node:perf_hooks";

let last = 0;

/**
 * Microseconds since the epoch, strictly increasing within this process. Events that order state
 * (deployments) must never tie: two changes in one millisecond would otherwise sort by a random id.
 */
export function nowMicros(): number {
  const now = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  last = now > last ? now : last + 1;
  return last;
}
