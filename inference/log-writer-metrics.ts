import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/**
 * Metrics of the log writers (one writer per table: predictions, labels). The only label is the
 * table, a set of two: never a request id, model or anything else a request controls.
 */
export function createLogWriterMetrics(registry: Registry) {
  const table = ["table"] as const;
  return {
    bufferedRows: new Gauge({
      name: "mlwatch_log_buffered_rows",
      help: "Rows in the open spool segment, not yet handed to an insert (they are on disk, not in memory).",
      labelNames: table,
      registers: [registry],
    }),
    spoolBytes: new Gauge({
      name: "mlwatch_log_spool_bytes",
      help: "Bytes of spool segment files on disk, the open segment included.",
      labelNames: table,
      registers: [registry],
    }),
    spoolSegments: new Gauge({
      name: "mlwatch_log_spool_segments",
      help: "Closed spool segments awaiting insert (failed ones and those left by a previous process included).",
      labelNames: table,
      registers: [registry],
    }),
    flushedRows: new Counter({
      name: "mlwatch_log_flushed_rows_total",
      help: "Rows inserted into the store (a segment counts once, when all of it is in).",
      labelNames: table,
      registers: [registry],
    }),
    droppedRows: new Counter({
      name: "mlwatch_log_dropped_rows_total",
      help: "Rows not logged because the spool was full or could not be written, under the drop policy.",
      labelNames: table,
      registers: [registry],
    }),
    refusedRows: new Counter({
      name: "mlwatch_log_refused_rows_total",
      help: "Rows refused back to the caller because the spool was full or could not be written, under the refuse policy.",
      labelNames: table,
      registers: [registry],
    }),
    rejectedRows: new Counter({
      name: "mlwatch_log_rejected_rows_total",
      help: "Rows the store refused for their contents (a parse or type error), set aside in the spool's rejected.jsonl instead of blocking their segment.",
      labelNames: table,
      registers: [registry],
    }),
    flushFailures: new Counter({
      name: "mlwatch_log_flush_failures_total",
      help: "Failed attempts to insert a spool segment; the segment stays on disk and is retried.",
      labelNames: table,
      registers: [registry],
    }),
    skippedLines: new Counter({
      name: "mlwatch_log_spool_skipped_lines_total",
      help: "Spool lines that were not a complete row when read back (a write cut short by a crash).",
      labelNames: table,
      registers: [registry],
    }),
    flushDuration: new Histogram({
      name: "mlwatch_log_flush_duration_seconds",
      help: "Duration of flush passes that inserted or tried to insert something.",
      labelNames: table,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  };
}

export type LogWriterMetrics = ReturnType<typeof createLogWriterMetrics>;
