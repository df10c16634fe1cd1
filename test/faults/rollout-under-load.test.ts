import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InferenceService } from "../../inference/service.ts";
import { generateCredit } from "../../models/datasets/credit.ts";
import type { ModelVersion } from "../../models/registry.ts";
import { requestJson } from "../helpers/http.ts";
import { driveLoad } from "../helpers/load-driver.ts";
import { registerTrained } from "../helpers/models.ts";
import { serveAsPrimary } from "../helpers/service.ts";
import { LOOPBACK, tempStore, type TempStore } from "../helpers/temp-store.ts";

// Promote and roll back, again and again, while requests keep coming: not one may fail, and every
// answer is logged once under the version that actually answered it.

let t: TempStore;
let svc: InferenceService;
let v1: ModelVersion;
let v2: ModelVersion;

beforeAll(async () => {
  t = await tempStore({ ...LOOPBACK, MLWATCH_LOG_FLUSH_MS: "200", MLWATCH_AUTO_ROLLBACK_MAX_P99_MS: "60000" });
  v1 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1, rows: 1500 });
  v2 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 2, rows: 1500, kind: "mlp" });
  svc = await serveAsPrimary(t, v1.version);
}, 120_000);

afterAll(async () => {
  await svc?.close();
  await t?.cleanup();
});

async function admin(route: string, body: Record<string, unknown>): Promise<number> {
  return (await requestJson(`${svc.url}/v1/admin/models/credit/${route}`, { body: { actor: "fault-test", reason: "flip under load", ...body } })).status;
}

describe("rollback and promote under load", () => {
  it("fails no request across eight flips of the primary, and logs each answer once under its version", async () => {
    let done = false;
    const rows = generateCredit(300, 10).examples.map((e) => e.row);
    const load = driveLoad({ url: svc.url, model: "credit", rows, concurrency: 12, idPrefix: "flip", stop: () => done });
    const flips: number[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        await sleep(150);
        flips.push(await admin("promote", { version: v2.version }));
        await sleep(150);
        flips.push(await admin("rollback", {}));
      }
    } finally {
      done = true;
    }
    const result = await load;
    await svc.predictions.flush();
    expect(flips).toEqual(Array(8).fill(200));
    expect(result.failed).toEqual({});
    const table = t.store.table("predictions");
    const byVersion = await t.store.rows<{ version: string; n: number }>(
      `SELECT version, count() AS n FROM ${table} FINAL WHERE startsWith(request_id, 'flip-') GROUP BY version ORDER BY version`,
    );
    const total = byVersion.reduce((a, r) => a + Number(r.n), 0);
    console.log(`flips under load: ${result.sent} sent, ${result.answered.length} answered, failed ${JSON.stringify(result.failed)}, rows ${JSON.stringify(byVersion)}`);
    expect(total).toBe(result.answered.length);
    expect(byVersion.map((r) => r.version)).toEqual([v1.version, v2.version].sort());
  }, 60_000);
});
