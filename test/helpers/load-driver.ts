import { performance } from "node:perf_hooks";

/**
 * Sustained prediction traffic from `concurrency` loops, each sending one request after another,
 * every request with its own x-request-id. It records exactly which ids were answered 200, so a
 * caller can compare them with what reached the store.
 */
export interface LoadOptions {
  url: string;
  model: string;
  /** Feature rows sent round-robin, one per request. */
  rows: readonly Record<string, unknown>[];
  concurrency: number;
  idPrefix: string;
  /** Checked before each request; load ends when it returns true. */
  stop: () => boolean;
}

export interface LoadResult {
  sent: number;
  /** Request ids answered 200, in answer order. */
  answered: string[];
  /** Responses other than 200 by status, and transport failures under "network". */
  failed: Record<string, number>;
  /** Latency of each 200 answer in ms, for percentiles. */
  latenciesMs: number[];
}

export async function driveLoad(o: LoadOptions): Promise<LoadResult> {
  const result: LoadResult = { sent: 0, answered: [], failed: {}, latenciesMs: [] };
  const loop = async () => {
    while (!o.stop()) {
      const id = `${o.idPrefix}-${result.sent}`;
      const features = o.rows[result.sent % o.rows.length];
      result.sent++;
      const started = performance.now();
      const outcome = await predict(o.url, o.model, id, features);
      if (outcome === 200) {
        result.answered.push(id);
        result.latenciesMs.push(performance.now() - started);
      } else result.failed[outcome] = (result.failed[outcome] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, loop));
  return result;
}

async function predict(url: string, model: string, id: string, features: unknown): Promise<number | "network"> {
  try {
    const res = await fetch(`${url}/v1/models/${model}/predict`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": id },
      body: JSON.stringify({ features }),
    });
    // A 200 counts only once its whole body arrived: an answer cut off by a crash was not an answer.
    const body = (await res.json()) as { predictions?: { request_id: string }[] };
    return res.status === 200 && body.predictions?.[0]?.request_id === id ? 200 : res.status;
  } catch {
    return "network";
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
