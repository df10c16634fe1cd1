import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InferenceService } from "../../inference/service.ts";
import { generateCredit } from "../../models/datasets/credit.ts";
import { eventually } from "../helpers/eventually.ts";
import { driveLoad } from "../helpers/load-driver.ts";
import { registerTrained } from "../helpers/models.ts";
import { metricValue } from "../helpers/prom-text.ts";
import { serveAsPrimary } from "../helpers/service.ts";
import { LOOPBACK, tempStore, type TempStore } from "../helpers/temp-store.ts";

// The log store goes away for a while under load (embedded mode: the predictions table is renamed
// away, so every insert fails while the engine itself stays up). Serving must not notice; rows wait
// in the disk spool; /readyz and /metrics say so; after recovery every answered row is in once.

let t: TempStore;
let svc: InferenceService;
const rows = generateCredit(500, 6).examples.map((e) => e.row);

beforeAll(async () => {
  t = await tempStore({ ...LOOPBACK, MLWATCH_LOG_FLUSH_MS: "100", MLWATCH_AUTO_ROLLBACK_MAX_P99_MS: "60000" });
  const v1 = await registerTrained(t.store, t.config.modelDir, { model: "credit", rows: 1500 });
  svc = await serveAsPrimary(t, v1.version);
}, 120_000);

afterAll(async () => {
  await svc?.close();
  await t?.cleanup();
});

const json = async (path: string) => (await fetch(svc.url + path)).json() as Promise<Record<string, any>>;
const metrics = async () => (await fetch(`${svc.url}/metrics`)).text();

describe("log store unavailable under load", () => {
  it("serves on, spools, tells the truth in /readyz and /metrics, then replays every answered row once", async () => {
    const table = t.store.table("predictions");
    let done = false;
    const load = driveLoad({ url: svc.url, model: "credit", rows, concurrency: 8, idPrefix: "outage", stop: () => done });
    await eventually(() => expect(svc.predictions.stats().flushedRows).toBeGreaterThan(200), 30_000);

    await t.store.command(`RENAME TABLE ${table} TO ${table}_away`);
    let during: Record<string, any>;
    let outageMetrics: string;
    try {
      await eventually(async () => {
        during = await json("/readyz");
        expect(during.log).toBe("spooling");
        expect(during.writers.predictions.storeWritable).toBe(false);
        expect(during.writers.predictions.pendingSegments).toBeGreaterThan(2);
      }, 30_000, 50);
      outageMetrics = await metrics();
    } finally {
      await t.store.command(`RENAME TABLE ${table}_away TO ${table}`);
    }
    expect(during!.status).toBe("ready"); // still serving: readiness is about answering, the log has the spool
    expect(metricValue(outageMetrics!, "mlwatch_log_flush_failures_total", { table: "predictions" })).toBeGreaterThan(0);
    expect(metricValue(outageMetrics!, "mlwatch_log_spool_bytes", { table: "predictions" })).toBeGreaterThan(0);
    expect(metricValue(outageMetrics!, "mlwatch_log_spool_segments", { table: "predictions" })).toBeGreaterThan(2);

    await eventually(async () => {
      const after = await json("/readyz");
      expect(after.log).toBe("store");
      expect(after.writers.predictions.pendingSegments).toBe(0);
    }, 30_000, 50);
    done = true;
    const result = await load;
    await svc.predictions.flush();

    expect(result.failed).toEqual({});
    const found = await t.store.rows<{ request_id: string; n: number }>(
      `SELECT request_id, count() AS n FROM ${table} FINAL WHERE startsWith(request_id, 'outage-') GROUP BY request_id`,
    );
    const copies = new Map(found.map((r) => [r.request_id, Number(r.n)]));
    const lost = result.answered.filter((id) => !copies.has(id));
    const doubled = [...copies].filter(([, n]) => n !== 1);
    const stats = svc.predictions.stats();
    console.log(
      `store outage: sent ${result.sent}, answered ${result.answered.length}, rows in the store ${copies.size}, lost ${lost.length}, doubled ${doubled.length}, failed flushes ${stats.failedFlushes}`,
    );
    expect(lost).toEqual([]);
    expect(doubled).toEqual([]);
    expect(copies.size).toBe(result.answered.length);
  }, 120_000);
});
