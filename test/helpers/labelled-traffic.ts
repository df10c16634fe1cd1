import type { InferenceService } from "../../inference/service.ts";
import { generateCredit } from "../../models/datasets/credit.ts";
import { postOk } from "./http.ts";

export type LabelledTraffic = (n: number, seed: number) => Promise<void>;

/** Where the traffic goes: an in-process service (its log writers are flushed after each call), or the URL of a `mlwatch serve` in another process. */
export type TrafficTarget = InferenceService | { url: string };

/**
 * Real credit requests in batches of 50 through /predict, then their ground-truth labels through
 * /feedback, both flushed when the service is in this process (another process's flush on its own
 * MLWATCH_LOG_FLUSH_MS): traffic whose realized accuracy the store can measure. Request ids run on
 * from one call to the next, so no two batches collide.
 */
export function labelledTraffic(svc: TrafficTarget, classes: readonly string[], idPrefix: string): LabelledTraffic {
  let seq = 0;
  return async (n, seed) => {
    const examples = generateCredit(n, seed).examples;
    for (let i = 0; i < n; i += 50) {
      const batch = examples.slice(i, i + 50);
      const res = await postOk(`${svc.url}/v1/models/credit/predict`, { instances: batch.map((e) => e.row) }, { "x-request-id": `${idPrefix}-${seq++}` });
      const labels = res.predictions.map((p: { request_id: string }, j: number) => ({ request_id: p.request_id, label: classes[batch[j]!.label]! }));
      await postOk(`${svc.url}/v1/feedback`, { labels });
    }
    if ("predictions" in svc) {
      await svc.predictions.flush();
      await svc.labels.flush();
    }
  };
}
