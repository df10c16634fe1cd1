// Shared validation for the histogram form of drift inputs: reference and current counts over the
// same bins. Validating once here keeps each method's loop free of checks.

export interface HistogramTotals {
  readonly ref: number;
  readonly cur: number;
}

/** Checks that both count arrays cover the same non-empty bins with finite, non-negative counts and non-zero totals. */
export function histogramTotals(
  method: string,
  refCounts: readonly number[],
  curCounts: readonly number[],
): HistogramTotals {
  if (refCounts.length === 0) throw new Error(`${method}: histograms must have at least one bin`);
  if (refCounts.length !== curCounts.length) {
    throw new Error(`${method}: reference has ${refCounts.length} bins but current has ${curCounts.length}`);
  }
  let ref = 0;
  let cur = 0;
  for (let i = 0; i < refCounts.length; i++) {
    const r = refCounts[i]!;
    const c = curCounts[i]!;
    // Written as a negated comparison so that NaN fails too.
    if (!(r >= 0 && c >= 0) || r === Infinity || c === Infinity) {
      throw new Error(`${method}: counts must be finite and >= 0 (bin ${i}: reference ${r}, current ${c})`);
    }
    ref += r;
    cur += c;
  }
  if (ref === 0) throw new Error(`${method}: reference histogram is empty (all counts are 0)`);
  if (cur === 0) throw new Error(`${method}: current histogram is empty (all counts are 0)`);
  return { ref, cur };
}

/** Checks that a raw sample is non-empty and contains only finite numbers. */
export function checkSample(method: string, label: string, values: readonly number[]): void {
  if (values.length === 0) throw new Error(`${method}: ${label} sample is empty`);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw new Error(`${method}: ${label} sample has a non-finite value at index ${i}`);
  }
}
