import type { InferenceService } from "../../inference/service.ts";
import { generateCredit } from "../../models/datasets/credit.ts";
import { postOk } from "./http.ts";

export type LabelledTraffic = (n: number, seed: number) => Promise<void>;

/**
 * Real credit requests in batches of 50 through /predict, then their ground-truth labels through
 * /feedback, both flushed: traffic whose realized accuracy the store can measure. Request ids run
 * on from one call to the next, so no two batches collide.
 */
export function labelledTraffic(svc: InferenceService, classes: readonly string[], idPrefix: string): LabelledTraffic {
  let seq = 0;
  return async (n, seed) => {
    const examples = generateCredit(n, seed).examples;
    for (let i = 0; i < n; i += 50) {
      const batch = examples.slice(i, i + 50);
      const res = await postOk(`${svc.url}/v1/models/credit/predict`, { instances: batch.map((e) => e.row) }, { "x-request-id": `${idPrefix}-${seq++}` });
      const labels = res.predictions.map((p: { request_id: string }, j: number) => ({ request_id: p.request_id, label: classes[batch[j]!.label]! }));
      await postOk(`${svc.url}/v1/feedback`, { labels });
    }
    await svc.predictions.flush();
    await svc.labels.flush();
  };
}
