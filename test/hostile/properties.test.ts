import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCredit } from "../../models/datasets/credit.ts";
import { requestJson, type JsonAnswer } from "../helpers/http.ts";
import { LOOPBACK, tempStore, type TempStore } from "../helpers/temp-store.ts";
import { ADMIN, startServingCredit, type ServingApp } from "./serving-app.ts";

// Generated hostile input: whatever the body, the answer is a 200 or a 4xx whose JSON names a
// reason (and, for a 400, a field), never a 5xx; and the process still serves afterwards.

let t: TempStore;
let app: ServingApp;
const row = generateCredit(5, 41).examples[0]!.row;

beforeAll(async () => {
  t = await tempStore({ ...LOOPBACK, MLWATCH_ADMIN_TOKEN: ADMIN, MLWATCH_MAX_INSTANCES: "50", MLWATCH_MAX_BODY_BYTES: "65536" });
  app = await startServingCredit(t);
}, 120_000);

afterAll(async () => {
  await app?.close();
  await t?.cleanup();
});

const hostileKey = fc.oneof(fc.constantFrom("__proto__", "constructor", "prototype", "age", "region", "income", "", "\u0000", "a\u200bge", "\ud800"), fc.string());
const hostileValue = fc.oneof(
  fc.constantFrom(null, true, -0, 1e308, -1e308, 5e-324, "", "\u0000", "\ud800", "north", "' OR 1=1 --", "🙂".repeat(50)),
  fc.double(),
  fc.string(),
  fc.jsonValue({ maxDepth: 4 }),
);
/** A credit row with some values replaced and some keys added. */
const mutatedRow = fc
  .tuple(fc.dictionary(fc.constantFrom(...Object.keys(row)), hostileValue, { maxKeys: 3 }), fc.dictionary(hostileKey, hostileValue, { maxKeys: 3 }))
  .map(([changed, added]) => ({ ...row, ...changed, ...added }));
const predictBody = fc.oneof(
  mutatedRow.map((features) => ({ features })),
  fc.array(mutatedRow, { minLength: 0, maxLength: 60 }).map((instances) => ({ instances })),
  fc.jsonValue({ maxDepth: 6 }),
  fc.dictionary(hostileKey, hostileValue),
);
const feedbackBody = fc.oneof(
  fc.record({ request_id: fc.oneof(fc.string(), hostileValue), label: fc.oneof(fc.constantFrom("yes", "no"), hostileValue) }),
  fc.record({ labels: fc.array(fc.record({ request_id: fc.string(), label: hostileValue }), { maxLength: 60 }) }),
  fc.jsonValue({ maxDepth: 6 }),
);
const adminBody = fc.record({ actor: hostileValue, reason: hostileValue, version: hostileValue, role: fc.oneof(fc.constantFrom("primary", "shadow", "canary"), hostileValue), percent: hostileValue }, { requiredKeys: [] });

const post = (path: string, raw: string) => requestJson(app.svc.url + path, { raw, headers: { authorization: `Bearer ${ADMIN}` } });

function expectAnswered(res: JsonAnswer): void {
  expect(res.status).toBeLessThan(500);
  if (res.status >= 400) {
    expect(res.json.reason).toEqual(expect.any(String));
    if (res.status === 400) expect(`${String(res.json.field ?? "")}${String(res.json.reason)}`).not.toBe("");
  }
}

describe("generated hostile bodies", () => {
  it("/predict never answers 5xx", async () => {
    await fc.assert(fc.asyncProperty(predictBody, async (body) => expectAnswered(await post("/v1/models/credit/predict", JSON.stringify(body)))), { numRuns: 150, seed: 9 });
  });

  it("/feedback never answers 5xx", async () => {
    await fc.assert(fc.asyncProperty(feedbackBody, async (body) => expectAnswered(await post("/v1/feedback", JSON.stringify(body)))), { numRuns: 100, seed: 9 });
  });

  it("admin changes never answer 5xx, and the deployed state stays valid", async () => {
    const route = fc.constantFrom("deploy", "promote", "rollback", "split", "remove");
    await fc.assert(fc.asyncProperty(route, adminBody, async (r, body) => expectAnswered(await post(`/v1/admin/models/credit/${r}`, JSON.stringify(body)))), { numRuns: 100, seed: 9 });
    expect(app.svc.traffic.state("credit")?.primary).toEqual(expect.any(String));
  });

  it("answered rows with odd strings all reach the store: the log is not poisoned", async () => {
    // An unpaired surrogate is not text a UTF-8 store can hold: refused up front (the http corpus checks it).
    const odd = ["\u0000", "🙂", "' OR 1=1 --", "\\", "\n", "\ud83d\ude42"];
    for (const [i, region] of odd.entries()) {
      const res = await fetch(`${app.svc.url}/v1/models/credit/predict`, { method: "POST", headers: { "content-type": "application/json", "x-request-id": `odd-${i}` }, body: JSON.stringify({ features: { ...row, region } }) });
      expect(res.status).toBe(200);
    }
    await app.svc.predictions.flush();
    expect(app.svc.predictions.stats()).toMatchObject({ storeWritable: true, pendingSegments: 0 });
    const [r] = await t.store.rows<{ n: number }>(`SELECT count() AS n FROM ${t.store.table("predictions")} FINAL WHERE startsWith(request_id, 'odd-')`);
    expect(Number(r!.n)).toBe(odd.length);
    expect((await fetch(`${app.svc.url}/healthz`)).status).toBe(200);
  });
});
