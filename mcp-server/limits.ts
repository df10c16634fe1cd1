import { z } from "zod";
import type { Limits } from "./config.ts";
import { DeadlineError, ToolError } from "./tool-error.ts";

/** `limit` argument of a row-returning tool, bounded by configuration. */
export function rowLimit(limits: Limits) {
  return z
    .number()
    .int()
    .min(1)
    .max(limits.maxRows)
    .optional()
    .describe(`Rows to return (default ${limits.defaultRows}, at most ${limits.maxRows}); page on with next_cursor.`);
}

export const cursorArg = z.string().max(2000).optional().describe("next_cursor from the previous page; omit for the first page.");

/**
 * The longest prefix of `rows` whose JSON fits `budgetBytes`: a result never exceeds the response cap
 * because of its rows, and says it was trimmed so the caller can page on or narrow the query.
 */
export function fitRows<T>(rows: T[], budgetBytes: number): { rows: T[]; trimmed: boolean } {
  let used = 2;
  for (let i = 0; i < rows.length; i++) {
    used += Buffer.byteLength(JSON.stringify(rows[i])) + 1;
    if (used > budgetBytes) return { rows: rows.slice(0, i), trimmed: true };
  }
  return { rows, trimmed: false };
}

/** Row budget: the response cap less room for everything around the rows. */
export function rowBudget(limits: Limits): number {
  return Math.max(1024, limits.maxResponseBytes - 8 * 1024);
}

/** Opaque page cursors: base64url JSON, validated on the way back in. */
export function encodeCursor(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

export function decodeCursor<T>(cursor: string, schema: z.ZodType<T>): T {
  try {
    return schema.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
  } catch {
    throw new ToolError("invalid cursor: pass next_cursor exactly as a previous page returned it");
  }
}

/**
 * Runs `work` under a deadline and the caller's cancellation. What cannot be interrupted (a store
 * query already sent) finishes in the background, bounded by MLWATCH_QUERY_TIMEOUT_S; the caller
 * gets its answer at the deadline either way.
 */
export async function withDeadline<T>(
  ms: number,
  outer: AbortSignal | undefined,
  what: string,
  work: (signal: AbortSignal) => Promise<T>,
  advice = "narrow the window or the filters and try again",
): Promise<T> {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(new DeadlineError(`${what} did not finish within ${ms / 1000} s (MLWATCH_MCP_CALL_TIMEOUT_S); ${advice}`)), ms);
  const onOuterAbort = () => ctl.abort(new ToolError(`${what} was cancelled by the client`));
  outer?.addEventListener("abort", onOuterAbort, { once: true });
  try {
    const aborted = new Promise<never>((_, reject) => {
      if (ctl.signal.aborted) reject(ctl.signal.reason);
      ctl.signal.addEventListener("abort", () => reject(ctl.signal.reason), { once: true });
    });
    const run = work(ctl.signal);
    run.catch(() => undefined); // a late failure after the deadline has no one to tell
    return await Promise.race([run, aborted]);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onOuterAbort);
  }
}
