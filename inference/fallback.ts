import type { TrafficState } from "../store/deployments.ts";
import type { Assignment } from "./routing.ts";

/** Why a version could not answer; the `fallback` column and the fallback metric's `reason`. */
export const fallbackReasons = ["inference_failed", "non_finite_output", "timeout", "load_failed"] as const;
export type FallbackReason = (typeof fallbackReasons)[number];

/** A version that could not answer one request: the predictor answers from the fallback, or with a 500. */
export class ScoreFailure extends Error {
  constructor(
    readonly reason: FallbackReason,
    readonly code: "inference_failed" | "load_failed",
    message: string,
  ) {
    super(message);
  }
}

/**
 * Which version answers when the routed one cannot: the primary for a canary, the previous primary
 * for a primary. Null when there is none or it is the version that failed.
 */
export function fallbackVersion(state: TrafficState, failed: Assignment): string | null {
  const candidate = failed.variant === "canary" ? state.primary : state.previous;
  return candidate && candidate !== failed.version ? candidate : null;
}

/**
 * The work's result, or a timeout failure after `ms`. onnxruntime cannot cancel a run, so the work
 * goes on and its late answer is dropped; `ms` undefined waits as long as the work takes.
 */
export function withinTimeout<T>(work: Promise<T>, ms: number | undefined): Promise<T> {
  if (ms === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ScoreFailure("timeout", "inference_failed", `no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
