import type { TrafficState } from "../store/deployments.ts";
import type { Variant } from "../store/tables.ts";

/**
 * Sticky traffic assignment. A routing key hashes to a fixed point in [0, 10000); the canary takes
 * the keys below its share. Raising the share only moves keys from primary to canary, never back,
 * so a user who saw the canary keeps seeing it as it grows.
 */
export function bucketOf(key: string, salt: string): number {
  // FNV-1a: fast, dependency-free and well spread for short keys.
  let h = 0x811c9dc5;
  const s = salt + "\u0000" + key;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % 10_000;
}

export interface Assignment {
  variant: Exclude<Variant, "shadow">;
  version: string;
}

/**
 * While a bandit runs it answers everything, by `allocation` (the arms' shares in arm order): a key's
 * point falls in one arm's stretch of [0, 1), so a key keeps its arm until the boundaries move past
 * it, and moving shares moves only the keys between the old and new boundaries.
 */
export function assign(state: TrafficState, routingKey: string, allocation?: readonly { version: string; share: number }[]): Assignment | null {
  if (!state.primary) return null;
  if (state.bandit && allocation?.length) {
    const point = bucketOf(routingKey, "bandit") / 10_000;
    let edge = 0;
    for (const arm of allocation) {
      edge += arm.share;
      if (point < edge) return { variant: "bandit", version: arm.version };
    }
    return { variant: "bandit", version: allocation[allocation.length - 1]!.version };
  }
  if (state.canary && bucketOf(routingKey, "canary") < state.canary.percent * 100) {
    return { variant: "canary", version: state.canary.version };
  }
  return { variant: "primary", version: state.primary };
}

/** Whether this request is mirrored to the shadow version, by its own key so mirroring is sampled evenly. */
export function mirrorToShadow(state: TrafficState, requestKey: string): string | null {
  if (!state.shadow) return null;
  return bucketOf(requestKey, "shadow") < state.shadow.percent * 100 ? state.shadow.version : null;
}
