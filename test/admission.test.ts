import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { loadConfig } from "../config.ts";
import { startInferenceService, type InferenceService } from "../inference/service.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import { eventually } from "./helpers/eventually.ts";
import { registerTrained } from "./helpers/models.ts";
import { metricValue } from "./helpers/prom-text.ts";
import { deployPrimary } from "./helpers/service.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

// Overload without timing anything: an injected 3 s scoring delay holds the admitted requests in
// flight, so every request past MLWATCH_MAX_IN_FLIGHT arrives while the bound is reached.

const MAX = 4;
let t: TempStore;
let svc: InferenceService;
const rows = generateCredit(20, 5).examples.map((e) => e.row);

beforeAll(async () => {
  t = await tempStore();
  const { version } = await registerTrained(t.store, t.config.modelDir, { model: "credit", rows: 1500 });
  const config = loadConfig({
    MLWATCH_DATA_DIR: t.dir,
    MLWATCH_PORT: "0",
    MLWATCH_HOST: "127.0.0.1",
    MLWATCH_MAX_IN_FLIGHT: String(MAX),
    MLWATCH_FAULT_INJECTION: "1",
    MLWATCH_AUTO_ROLLBACK_MAX_P99_MS: "60000",
  });
  svc = await startInferenceService({ config, store: t.store, logger: pino({ level: "silent" }) });
  await deployPrimary(svc, version);
}, 120_000);

afterAll(async () => {
  await svc?.close();
  await t?.cleanup();
});

const predict = (id: string, row: object) =>
  fetch(`${svc.url}/v1/models/credit/predict`, { method: "POST", headers: { "content-type": "application/json", "x-request-id": id }, body: JSON.stringify({ features: row }) });
const metrics = async () => (await fetch(`${svc.url}/metrics`)).text();

describe("shedding past MLWATCH_MAX_IN_FLIGHT", () => {
  it("answers 503 overloaded with Retry-After past the bound, keeps admin and health reachable, and logs every admitted request", async () => {
    const slow = await fetch(`${svc.url}/v1/admin/models/credit/faults`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ extraLatencyMs: 3000, latencyFraction: 1 }) });
    expect(slow.status).toBe(200);
    const held = rows.slice(0, MAX).map((r, i) => predict(`held-${i}`, r));
    await eventually(async () => expect(metricValue(await metrics(), "http_requests_in_flight")).toBe(MAX));

    const refused = await Promise.all(rows.slice(MAX, MAX + 6).map((r, i) => predict(`shed-${i}`, r)));
    for (const res of refused) {
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("1");
      expect(await res.json()).toMatchObject({ error: "overloaded", reason: expect.stringMatching(/4 requests in flight, the limit is 4 \(MLWATCH_MAX_IN_FLIGHT\)/) });
    }
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
    const m = await metrics();
    expect(metricValue(m, "http_requests_shed_total", { route: "/v1/models/:name/predict" })).toBe(6);

    const answers = await Promise.all(held);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    await eventually(async () => expect(metricValue(await metrics(), "http_requests_in_flight")).toBe(0));
    await fetch(`${svc.url}/v1/admin/models/credit/faults`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ extraLatencyMs: 0 }) });
    expect((await predict("after", rows[0]!)).status).toBe(200);

    await svc.predictions.flush();
    const logged = await t.store.rows<{ request_id: string }>(`SELECT request_id FROM ${t.store.table("predictions")} FINAL ORDER BY request_id`);
    expect(logged.map((r) => r.request_id)).toEqual(["after", "held-0", "held-1", "held-2", "held-3"]);
  }, 60_000);
});
