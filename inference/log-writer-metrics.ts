import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { LogWriterStats } from "./log-writer.ts";

/**
 * Metrics of the log writers (one writer per table: predictions, labels). The only label is the
 * table, a set of two: never a request id, model or anything else a request controls.
 *
 * A writer's figures live in one place, its `stats()`; the gauges and counters here read them when
 * scraped, so no figure is kept twice and none can disagree with `/readyz`. The flush-duration
 * histogram is the exception: a distribution cannot be read from a figure, so it is observed as
 * each flush pass ends.
 */
export function createLogWriterMetrics(registry: Registry) {
  const writers = new Map<string, () => LogWriterStats>();
  const labelNames = ["table"] as const;

  const gauge = (name: string, help: string, read: (s: LogWriterStats) => number) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        for (const [table, stats] of writers) this.set({ table }, read(stats()));
      },
    });

  const counter = (name: string, help: string, read: (s: LogWriterStats) => number) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [table, stats] of writers) {
          const value = read(stats());
          // A table's series starts at its first count, not as a zero at start-up.
          if (value > 0) this.inc({ table }, value);
        }
      },
    });

  return {
    /** From now on the metrics report this writer's figures under its table. */
    track(table: string, stats: () => LogWriterStats): void {
      writers.set(table, stats);
    },
    bufferedRows: gauge(
      "mlwatch_log_buffered_rows",
      "Rows in the open spool segment, not yet handed to an insert (they are on disk, not in memory).",
      (s) => s.buffered,
    ),
    spoolBytes: gauge("mlwatch_log_spool_bytes", "Bytes of spool segment files on disk, the open segment included.", (s) => s.spoolBytes),
    spoolSegments: gauge(
      "mlwatch_log_spool_segments",
      "Closed spool segments awaiting insert (failed ones and those left by a previous process included).",
      (s) => s.pendingSegments,
    ),
    flushedRows: counter(
      "mlwatch_log_flushed_rows_total",
      "Rows inserted into the store (a segment counts once, when all of it is in).",
      (s) => s.flushedRows,
    ),
    droppedRows: counter(
      "mlwatch_log_dropped_rows_total",
      "Rows not logged because the spool was full or could not be written, under the drop policy.",
      (s) => s.droppedRows,
    ),
    refusedRows: counter(
      "mlwatch_log_refused_rows_total",
      "Rows refused back to the caller because the spool was full or could not be written, under the refuse policy.",
      (s) => s.refusedRows,
    ),
    rejectedRows: counter(
      "mlwatch_log_rejected_rows_total",
      "Rows the store refused for their contents (a parse or type error), set aside in the spool's rejected.jsonl instead of blocking their segment.",
      (s) => s.rejectedRows,
    ),
    flushFailures: counter(
      "mlwatch_log_flush_failures_total",
      "Failed attempts to insert a spool segment; the segment stays on disk and is retried.",
      (s) => s.failedFlushes,
    ),
    skippedLines: counter(
      "mlwatch_log_spool_skipped_lines_total",
      "Spool lines that were not a complete row when read back (a write cut short by a crash).",
      (s) => s.skippedLines,
    ),
    flushDuration: new Histogram({
      name: "mlwatch_log_flush_duration_seconds",
      help: "Duration of flush passes that inserted or tried to insert something.",
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
}

export type LogWriterMetrics = ReturnType<typeof createLogWriterMetrics>;
