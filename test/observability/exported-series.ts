import { Registry } from "prom-client";
import { createLogWriterMetrics } from "../../inference/log-writer-metrics.ts";
import { createServingMetrics } from "../../inference/metrics.ts";
import { createMcpMetrics } from "../../mcp-server/metrics.ts";

/** Every series name serve's /metrics can carry (inference and the MCP endpoint it hosts) (a histogram's as _bucket, _sum, _count). */
export function exportedSeries(): Set<string> {
  const registry = new Registry();
  createServingMetrics(registry, "dev");
  createLogWriterMetrics(registry);
  createMcpMetrics(registry);
  return new Set(registry.getMetricsAsArray().flatMap((m) => (String(m.type) === "histogram" ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name])));
}
