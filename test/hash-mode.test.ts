import { afterAll, beforeAll, expect, it } from "vitest";
import { pino } from "pino";
import { generateCredit } from "../models/datasets/credit.ts";
import { startInferenceService, type InferenceService } from "../inference/service.ts";
import { registerTrained } from "./helpers/models.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

let t: TempStore;
let svc: InferenceService;

beforeAll(async () => {
  t = await tempStore({ MLWATCH_LOG_FEATURES: "hash", MLWATCH_PORT: "0", MLWATCH_HOST: "127.0.0.1" });
  const v = await registerTrained(t.store, t.config.modelDir, { model: "private" });
  svc = await startInferenceService({ config: t.config, store: t.store, logger: pino({ level: "silent" }) });
  await svc.traffic.change({ model: "private", change: { action: "deploy", role: "primary", version: v.version }, actor: "test", reason: "test" });
});

afterAll(async () => {
  await svc?.close();
  await t?.cleanup();
});

it("with MLWATCH_LOG_FEATURES=hash stores the feature hash and baseline bins, never raw values", async () => {
  const rows = generateCredit(10, 4).examples.map((e) => e.row);
  const res = await fetch(`${svc.url}/v1/models/private/predict`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": "h" },
    body: JSON.stringify({ instances: rows }),
  });
  const answer = (await res.json()) as { predictions: { feature_hash: string }[] };
  await svc.predictions.flush();
  const logged = await t.store.rows<{ feature_num: unknown[]; feature_cat: unknown[]; feature_bin: number[]; feature_hash: string }>(
    `SELECT feature_num, feature_cat, feature_bin, feature_hash FROM ${t.store.table("predictions")} FINAL WHERE startsWith(request_id, 'h-') ORDER BY request_id`,
  );
  expect(logged).toHaveLength(10);
  for (const [i, row] of logged.entries()) {
    expect(row.feature_num).toEqual([]);
    expect(row.feature_cat).toEqual([]);
    expect(row.feature_bin).toHaveLength(Object.keys(rows[0]!).length);
    expect(row.feature_hash).toBe(answer.predictions[i]!.feature_hash);
  }
});
