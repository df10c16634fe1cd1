import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { loadConfig } from "../../config.ts";
import { startInferenceService, type InferenceService } from "../../inference/service.ts";
import { generateCredit } from "../../models/datasets/credit.ts";
import { eventually } from "../helpers/eventually.ts";
import { registerTrained } from "../helpers/models.ts";
import { metricValue } from "../helpers/prom-text.ts";
import { deployPrimary } from "../helpers/service.ts";
import { tempStore, type TempStore } from "../helpers/temp-store.ts";

// The store stays away long enough for a small spool (MLWATCH_SPOOL_MAX_BYTES=4096, a handful of
// rows) to fill. "refuse" answers 503 and loses nothing it answered; "drop" keeps answering and
// counts every row it could not log. Both are visible in /metrics.

let t: TempStore;
let version: string;
const rows = generateCredit(100, 8).examples.map((e) => e.row);

beforeAll(async () => {
  t = await tempStore();
  version = (await registerTrained(t.store, t.config.modelDir, { model: "credit", rows: 1500 })).version;
}, 120_000);

afterAll(async () => {
  await t?.cleanup();
});

async function start(policy: "drop" | "refuse"): Promise<InferenceService> {
  const config = loadConfig({
    MLWATCH_DATA_DIR: t.dir,
    MLWATCH_PORT: "0",
    MLWATCH_HOST: "127.0.0.1",
    MLWATCH_LOG_FLUSH_MS: "50",
    MLWATCH_SPOOL_MAX_BYTES: "4096",
    MLWATCH_SPOOL_FULL_POLICY: policy,
    MLWATCH_AUTO_ROLLBACK_MAX_P99_MS: "60000",
  });
  const svc = await startInferenceService({ config, store: t.store, logger: pino({ level: "silent" }) });
  if (!svc.traffic.state("credit")?.primary) await deployPrimary(svc, version);
  return svc;
}

describe.each(["refuse", "drop"] as const)("spool full, policy %s", (policy) => {
  it("applies the policy, counts it in /metrics, and keeps every row it answered for", async () => {
    const svc = await start(policy);
    const table = t.store.table("predictions");
    const answers: { id: string; status: number; error?: string }[] = [];
    await t.store.command(`RENAME TABLE ${table} TO ${table}_away`);
    let text: string;
    try {
      for (let i = 0; i < 40; i++) {
        const id = `full-${policy}-${i}`;
        const res = await fetch(`${svc.url}/v1/models/credit/predict`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-request-id": id },
          body: JSON.stringify({ features: rows[i] }),
        });
        answers.push({ id, status: res.status, error: ((await res.json()) as { error?: string }).error });
      }
      text = await (await fetch(`${svc.url}/metrics`)).text();
    } finally {
      await t.store.command(`RENAME TABLE ${table}_away TO ${table}`);
    }
    await eventually(() => expect(svc.predictions.stats().pendingSegments).toBe(0), 30_000);
    await svc.predictions.flush();
    await svc.close();

    const ok = answers.filter((a) => a.status === 200).map((a) => a.id);
    const refused = answers.filter((a) => a.status === 503);
    const [stored] = await t.store.rows<{ n: number }>(`SELECT count() AS n FROM ${table} FINAL WHERE startsWith(request_id, {p:String})`, { p: `full-${policy}-` });
    const inStore = Number(stored!.n);
    const dropped = metricValue(text!, "mlwatch_log_dropped_rows_total", { table: "predictions" });
    const refusedRows = metricValue(text!, "mlwatch_log_refused_rows_total", { table: "predictions" });
    console.log(`spool full (${policy}): 40 sent, ${ok.length} answered 200, ${refused.length} answered 503, ${inStore} rows in the store, dropped ${dropped}, refused ${refusedRows}`);
    if (policy === "refuse") {
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.every((a) => a.error === "log_unavailable")).toBe(true);
      expect(refusedRows).toBe(refused.length);
      expect(metricValue(text!, "model_prediction_errors_total", { reason: "log_spool_full" })).toBe(refused.length);
      expect(inStore).toBe(ok.length); // every answered row, nothing lost
    } else {
      expect(ok.length).toBe(40); // serving never stops
      expect(dropped).toBeGreaterThan(0);
      expect(inStore).toBe(40 - dropped); // every row not counted as dropped arrived
    }
  }, 60_000);
});
