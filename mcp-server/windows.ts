import { resolveWindow, windowSchema, type Window } from "../analysis/index.ts";

export const windowArg = windowSchema
  .optional()
  .describe("Time range: {lastSeconds} (default the last 3600 s) or {fromUs, toUs} in microseconds since the epoch.");

/**
 * A window with its ends fixed against the server's clock, so "the last hour" means the same hour to
 * every tool and to the proposals' expiry, also under a simulation's virtual clock.
 */
export function anchored(window: Window | undefined, nowUs: number): { fromUs: number; toUs: number } {
  const w = resolveWindow(window, nowUs);
  return { fromUs: w.fromUs, toUs: w.toUs };
}
