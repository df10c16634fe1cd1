// The latency quantiles of the prediction log, defined once: the audit summary (inference/) and
// model health and version comparison (analysis/) read the same rows the same way, so one window
// gives one p99. Here rather than in analysis/ because inference/ never reads analysis/.

export interface Latency {
  p50: number;
  p95: number;
  p99: number;
}

/**
 * SQL for [p50, p95, p99] of `latency_us` over the answered rows (error = '') that also meet
 * `condition`: exact nearest-rank quantiles (ClickHouse quantilesExact), not the sampling estimate,
 * which interpolates and moves with the sample.
 */
export function latencyQuantilesSql(condition?: string): string {
  return `quantilesExactIf(0.5, 0.95, 0.99)(latency_us, ${condition ? `${condition} AND ` : ""}error = '')`;
}

/** The array latencyQuantilesSql returns (µs) in ms. */
export function latencyMs(q: readonly unknown[]): Latency {
  return { p50: Number(q[0]) / 1000, p95: Number(q[1]) / 1000, p99: Number(q[2]) / 1000 };
}
