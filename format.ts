// How prose everywhere writes a figure. A leaf: it imports nothing, so every layer may use it.

/** A missing figure where a table or a gate line reads better with a dash than with "n/a". */
export const DASH = "–";

/** A share (0.123) as a percentage ("12.3%"); a figure that is missing or not finite as `missing`. */
export function pct(x: number | null | undefined, digits = 1, missing = "n/a"): string {
  return x === null || x === undefined || !Number.isFinite(x) ? missing : `${(x * 100).toFixed(digits)}%`;
}


/** Epoch microseconds as an ISO 8601 time. */
export function iso(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString();
}

/** An ISO 8601 time as epoch microseconds: the inverse of `iso`. */
export function epochUs(isoTime: string): number {
  return Date.parse(isoTime) * 1000;
}
