import { z } from "zod";
import { iso } from "../format.ts";

/** A time range over the prediction log. Default: the last 3600 s. Times are µs since the epoch. */
export interface Window {
  lastSeconds?: number;
  fromUs?: number;
  toUs?: number;
}

/** The same shape as a zod schema, for tools that take a window from a caller. */
export const windowSchema = z
  .object({
    lastSeconds: z.number().positive().max(366 * 86_400).optional().describe("the last N seconds (default 3600)"),
    fromUs: z.number().int().nonnegative().optional().describe("start, µs since the epoch (inclusive)"),
    toUs: z.number().int().positive().optional().describe("end, µs since the epoch (exclusive; default now)"),
  })
  .strict();

/** A window made concrete: [fromUs, toUs). */
export interface ResolvedWindow {
  fromUs: number;
  toUs: number;
  from: string;
  to: string;
  seconds: number;
}

export const DEFAULT_WINDOW_SECONDS = 3600;

export class WindowError extends Error {}

/** fromUs/toUs win over lastSeconds; with only fromUs the window runs to now, with only toUs it spans lastSeconds before it. */
export function resolveWindow(window: Window | undefined, nowUs = Date.now() * 1000): ResolvedWindow {
  const w = window ?? {};
  for (const key of ["lastSeconds", "fromUs", "toUs"] as const) {
    const v = w[key];
    if (v !== undefined && !(typeof v === "number" && Number.isFinite(v) && v >= 0)) {
      throw new WindowError(`window.${key} must be a finite number >= 0, got ${String(v)}`);
    }
  }
  const toUs = Math.floor(w.toUs ?? nowUs);
  const seconds = w.lastSeconds ?? DEFAULT_WINDOW_SECONDS;
  if (!(seconds > 0)) throw new WindowError("window.lastSeconds must be > 0");
  const fromUs = Math.floor(w.fromUs ?? toUs - seconds * 1e6);
  if (!(fromUs < toUs)) throw new WindowError(`window is empty: fromUs ${fromUs} is not before toUs ${toUs}`);
  return { fromUs, toUs, from: iso(fromUs), to: iso(toUs), seconds: (toUs - fromUs) / 1e6 };
}

/** The SQL condition every analysis query puts on `ts` (optionally qualified by a table alias), with windowParams. */
export function windowCondition(alias = "", prefix = ""): string {
  const ts = alias ? `${alias}.ts` : "ts";
  return `${ts} >= fromUnixTimestamp64Micro({${prefix}fromUs:Int64}) AND ${ts} < fromUnixTimestamp64Micro({${prefix}toUs:Int64})`;
}

export function windowParams(w: ResolvedWindow, prefix = ""): Record<string, number> {
  return { [`${prefix}fromUs`]: w.fromUs, [`${prefix}toUs`]: w.toUs };
}

const NICE_BUCKETS = [60, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 604_800];
const TARGET_BUCKETS = 48;
export const MAX_BUCKETS = 10_000;

/** A bucket width giving at most ~48 buckets over the window, from a list of round widths. */
export function defaultBucketSeconds(windowSeconds: number): number {
  return NICE_BUCKETS.find((b) => windowSeconds / b <= TARGET_BUCKETS) ?? NICE_BUCKETS[NICE_BUCKETS.length - 1]!;
}

/** Validated bucket width in seconds; refuses widths that would make more than MAX_BUCKETS buckets. */
export function bucketSecondsFor(w: ResolvedWindow, requested?: number): number {
  const seconds = requested ?? defaultBucketSeconds(w.seconds);
  if (!Number.isInteger(seconds) || seconds < 1) throw new WindowError(`bucketSeconds must be a positive integer, got ${seconds}`);
  if (w.seconds / seconds > MAX_BUCKETS) {
    throw new WindowError(`bucketSeconds ${seconds} makes more than ${MAX_BUCKETS} buckets over a ${w.seconds} s window`);
  }
  return seconds;
}

/** Bucket starts (µs, aligned to multiples of the width since the epoch) covering the window, for filling empty buckets. */
export function bucketStarts(w: ResolvedWindow, bucketSeconds: number): number[] {
  const width = bucketSeconds * 1e6;
  const starts: number[] = [];
  for (let s = Math.floor(w.fromUs / width) * width; s < w.toUs; s += width) starts.push(s);
  return starts;
}

/** SQL for a row's bucket start in µs; the width travels as {bucketUs:Int64}. */
export const BUCKET_SQL = "intDiv(toUnixTimestamp64Micro(ts), {bucketUs:Int64}) * {bucketUs:Int64}";
