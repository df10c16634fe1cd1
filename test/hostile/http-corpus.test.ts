import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCredit } from "../../models/datasets/credit.ts";
import { requestJson, type JsonAnswer } from "../helpers/http.ts";
import { metricValue } from "../helpers/prom-text.ts";
import { LOOPBACK, tempStore, type TempStore } from "../helpers/temp-store.ts";
import { ADMIN, ALERT, APPROVER, startServingCredit, type ServingApp } from "./serving-app.ts";

// A corpus of bad requests for every HTTP door: each must get a 4xx naming the field and the reason,
// be counted in /metrics, and leave the process serving. The table printed at the end is the record.

let t: TempStore;
let app: ServingApp;
const row = generateCredit(5, 21).examples[0]!.row;

beforeAll(async () => {
  t = await tempStore({
    ...LOOPBACK,
    MLWATCH_ADMIN_TOKEN: ADMIN,
    MLWATCH_MAX_INSTANCES: "100",
    MLWATCH_MAX_BODY_BYTES: "65536",
    MLWATCH_FAULT_INJECTION: "1",
  });
  app = await startServingCredit(t);
}, 120_000);

afterAll(async () => {
  await app?.close();
  await t?.cleanup();
});

interface Case {
  name: string;
  path: string;
  method?: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  status: number;
  /** The field the answer must name (in `field`, or in `reason` where the route has no `field`). */
  field: string | RegExp;
}

const nest = (depth: number) => "[".repeat(depth) + "]".repeat(depth);
const predict = "/v1/models/credit/predict";
const admin = (route: string) => `/v1/admin/models/credit/${route}`;
const audit = { actor: "hostile", reason: "corpus" };

const cases: Case[] = [
  // /predict
  { name: "malformed JSON", path: predict, raw: '{"features": {', status: 400, field: "body" },
  { name: "NaN literal", path: predict, raw: '{"features": {"age": NaN}}', status: 400, field: "body" },
  { name: "Infinity via 1e999", path: predict, raw: JSON.stringify({ features: row }).replace(/"age":[^,]+/, '"age":1e999'), status: 400, field: "instances[0].age" },
  { name: "__proto__ key", path: predict, raw: '{"features": {"__proto__": {"admin": true}}}', status: 400, field: "body" },
  { name: "constructor.prototype key", path: predict, raw: '{"features": {"constructor": {"prototype": {"admin": true}}}}', status: 400, field: "body" },
  { name: "deep nesting (30k levels)", path: predict, raw: `{"features": {"age": ${nest(30_000)}}}`, status: 400, field: /body|instances\[0\]/ },
  { name: "body over the limit", path: predict, body: { features: { ...row, pad: "x".repeat(70_000) } }, status: 413, field: /./ },
  { name: "100k-feature row", path: predict, body: { features: Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`f${i}`, 1])) }, status: 413, field: /./ },
  { name: "5k unknown features in one row", path: predict, body: { features: { ...row, ...Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`f${i}`, 1])) } }, status: 400, field: "instances[0].f0" },
  { name: "batch over the limit", path: predict, body: { instances: Array.from({ length: 101 }, () => row) }, status: 400, field: "body.instances" },
  { name: "empty batch", path: predict, body: { instances: [] }, status: 400, field: "body.instances" },
  { name: "features and instances both", path: predict, body: { features: row, instances: [row] }, status: 400, field: "body" },
  { name: "a string body", path: predict, body: "hello", status: 400, field: "body" },
  { name: "an array body", path: predict, body: [row], status: 400, field: "body" },
  { name: "null body", path: predict, raw: "null", status: 400, field: "body" },
  { name: "wrong type", path: predict, body: { features: { ...row, age: "forty" } }, status: 400, field: "instances[0].age" },
  { name: "boolean for a number", path: predict, body: { features: { ...row, age: true } }, status: 400, field: "instances[0].age" },
  { name: "object for a category", path: predict, body: { features: { ...row, region: { $ne: "" } } }, status: 400, field: "instances[0].region" },
  { name: "unpaired surrogate in a category", path: predict, raw: JSON.stringify({ features: row }).replace(/"region":"[^"]*"/, '"region":"\\ud800"'), status: 400, field: "instances[0].region" },
  { name: "number beyond float32", path: predict, body: { features: { ...row, age: 3.5e38 } }, status: 400, field: "instances[0].age" },
  { name: "missing feature", path: predict, body: { features: { ...row, income: undefined } }, status: 400, field: "instances[0].income" },
  { name: "zero-width feature name", path: predict, body: { features: { ...row, ["a\u200bge"]: 1 } }, status: 400, field: "instances[0].a\u200bge" },
  { name: "non-object row", path: predict, body: { instances: ["x"] }, status: 400, field: "body.instances.0" },
  { name: "request id with spaces", path: predict, body: { features: row }, headers: { "x-request-id": "a b" }, status: 400, field: "headers.x-request-id" },
  { name: "request id 129 chars", path: predict, body: { features: row }, headers: { "x-request-id": "r".repeat(129) }, status: 400, field: "headers.x-request-id" },
  { name: "routing key an object", path: predict, body: { features: row, routing_key: { $gt: "" } }, status: 400, field: "body.routing_key" },
  { name: "model name over 64 chars", path: `/v1/models/${"m".repeat(65)}/predict`, body: { features: row }, status: 400, field: "params.name" },
  { name: "unknown model", path: "/v1/models/nope/predict", body: { features: row }, status: 404, field: /nope/ },
  { name: "wrong content type", path: predict, raw: "features=1", headers: { "content-type": "application/x-www-form-urlencoded" }, status: 415, field: "content-type" },
  // /feedback
  { name: "feedback: malformed JSON", path: "/v1/feedback", raw: "{", status: 400, field: "body" },
  { name: "feedback: labels not an array", path: "/v1/feedback", body: { labels: "yes" }, status: 400, field: "body.labels.0" },
  { name: "feedback: label an object", path: "/v1/feedback", body: { request_id: "r1", label: { yes: 1 } }, status: 400, field: "body.label" },
  { name: "feedback: empty request id", path: "/v1/feedback", body: { request_id: "", label: "yes" }, status: 400, field: "body.request_id" },
  { name: "feedback: 101 labels", path: "/v1/feedback", body: { labels: Array.from({ length: 101 }, (_, i) => ({ request_id: `r${i}`, label: "yes" })) }, status: 400, field: "body.labels" },
  { name: "feedback: unknown property", path: "/v1/feedback", body: { request_id: "r1", label: "yes", extra: 1 }, status: 400, field: "body" },
  { name: "feedback: __proto__ key", path: "/v1/feedback", raw: '{"request_id":"r1","label":"yes","__proto__":{"x":1}}', status: 400, field: "body" },
  // admin
  { name: "deploy: missing actor", path: admin("deploy"), body: { version: "1", role: "primary", reason: "x" }, status: 400, field: "body" },
  { name: "deploy: unknown role", path: admin("deploy"), body: { ...audit, version: "1", role: "king" }, status: 400, field: "body.role" },
  { name: "deploy: percent 101", path: admin("deploy"), body: { ...audit, version: "1", role: "canary", percent: 101 }, status: 400, field: "body.percent" },
  { name: "deploy: percent negative", path: admin("deploy"), body: { ...audit, version: "1", role: "canary", percent: -1 }, status: 400, field: "body.percent" },
  { name: "deploy: percent a string", path: admin("deploy"), body: { ...audit, version: "1", role: "canary", percent: "NaN" }, status: 400, field: "body.percent" },
  { name: "deploy: path traversal version", path: admin("deploy"), body: { ...audit, version: "../../etc/passwd", role: "canary" }, status: 404, field: /version/ },
  { name: "deploy: version with a quote", path: admin("deploy"), body: { ...audit, version: "1' OR '1'='1", role: "canary" }, status: 404, field: /version/ },
  { name: "deploy: unknown property", path: admin("deploy"), body: { ...audit, version: "1", role: "canary", admin: true }, status: 400, field: "body" },
  { name: "deploy: reason over 2000 chars", path: admin("deploy"), body: { ...audit, reason: "r".repeat(2001), version: "1", role: "canary" }, status: 400, field: "body.reason" },
  { name: "split: nothing to split", path: admin("split"), body: { ...audit }, status: 400, field: /canaryPercent/ },
  { name: "promote: nothing to promote", path: admin("promote"), body: { ...audit }, status: 400, field: /version/ },
  { name: "remove: no such role", path: admin("remove"), body: { ...audit, role: "primary" }, status: 400, field: "body.role" },
  { name: "deploy: stale expected_event_id", path: admin("deploy"), body: { ...audit, version: "1", role: "shadow", expected_event_id: "' OR 1=1 --" }, status: 409, field: /changed since event/ },
  { name: "deploy: unknown model", path: "/v1/admin/models/nope/deploy", body: { ...audit, version: "1", role: "primary" }, status: 404, field: /nope/ },
  { name: "deployments: negative limit", path: `${admin("deployments")}?limit=-5`, status: 400, field: "querystring.limit" },
  { name: "deployments: limit not a number", path: `${admin("deployments")}?limit=lots`, status: 400, field: "querystring.limit" },
  { name: "faults: fraction over 1", path: admin("faults"), method: "PUT", body: { errorFraction: 2 }, status: 400, field: "body.errorFraction" },
  { name: "faults: unknown key", path: admin("faults"), method: "PUT", body: { crash: true }, status: 400, field: "body.crash" },
  { name: "audit: negative limit", path: "/v1/models/credit/audit/recent?limit=-1", status: 400, field: "querystring.limit" },
  { name: "audit: window of zero", path: "/v1/models/credit/audit/summary?window_seconds=0", status: 400, field: "querystring.window_seconds" },
  // approvals (approver token) and the alert webhook
  { name: "approvals: malformed JSON", path: "/v1/approvals/p-1", raw: "{", headers: { authorization: `Bearer ${APPROVER}` }, status: 400, field: "body" },
  { name: "approvals: bad decision", path: "/v1/approvals/p-1", body: { decision: "maybe", approver: "a" }, headers: { authorization: `Bearer ${APPROVER}` }, status: 400, field: "body.decision" },
  { name: "approvals: no approver", path: "/v1/approvals/p-1", body: { decision: "approve" }, headers: { authorization: `Bearer ${APPROVER}` }, status: 400, field: "body.approver" },
  { name: "approvals: unknown property", path: "/v1/approvals/p-1", body: { approver: "a", admin: true }, headers: { authorization: `Bearer ${APPROVER}` }, status: 400, field: "body.admin" },
  { name: "approvals: id over 100 chars", path: `/v1/approvals/${"p".repeat(101)}`, body: { approver: "a" }, headers: { authorization: `Bearer ${APPROVER}` }, status: 400, field: "params.id" },
  { name: "approvals: unknown id", path: "/v1/approvals/p-nope", body: { approver: "a" }, headers: { authorization: `Bearer ${APPROVER}` }, status: 404, field: /p-nope/ },
  { name: "approvals list: bad status", path: "/v1/approvals?status=' OR 1=1", headers: { authorization: `Bearer ${APPROVER}` }, status: 400, field: "querystring.status" },
  { name: "alerts: wrong version", path: "/v1/alerts", body: { version: "3", status: "firing", alerts: [] }, headers: { authorization: `Bearer ${ALERT}` }, status: 400, field: "version" },
  { name: "alerts: model name over 64", path: "/v1/alerts", body: { version: "4", status: "firing", alerts: [{ status: "firing", labels: { alertname: "x", model: "m".repeat(65) }, startsAt: "now" }] }, headers: { authorization: `Bearer ${ALERT}` }, status: 400, field: "alerts.0.labels.model" },
  { name: "alerts: deep nesting", path: "/v1/alerts", raw: `{"version":"4","status":"firing","alerts":${nest(20_000)}}`, headers: { authorization: `Bearer ${ALERT}` }, status: 400, field: /alerts|body/ },
];

function send(c: Case): Promise<JsonAnswer> {
  // Every case says JSON, even a GET: the corpus is about what the route makes of it.
  const headers = { "content-type": "application/json", ...(c.path.startsWith("/v1/admin") ? { authorization: `Bearer ${ADMIN}` } : {}), ...c.headers };
  return requestJson(app.svc.url + c.path, { method: c.method, body: c.body, raw: c.raw, headers });
}

const counted = async (status: number) => metricValue(await (await fetch(`${app.svc.url}/metrics`)).text(), "http_requests_total", { status: String(status) });
const record: string[] = [];

describe("bad input over HTTP", () => {
  it.each(cases.map((c) => [c.name, c] as const))("%s: a 4xx naming the field, counted", async (_name, c) => {
    const before = await counted(c.status);
    const res = await send(c);
    record.push(`| ${c.name} | ${c.path.split("?")[0]!.replace(/m{65}|p{101}/, "<long>")} | ${res.status} | ${String(res.json.field ?? "")} | ${String(res.json.reason ?? "").slice(0, 90).replace(/\|/g, "\\|")} |`);
    expect(res.status).toBe(c.status);
    const reason = res.json.reason;
    const named = typeof c.field === "string" ? res.json.field : `${String(res.json.field ?? "")} ${String(reason ?? "")}`;
    if (typeof c.field === "string") expect(named).toBe(c.field);
    else expect(named).toMatch(c.field);
    expect(reason).toEqual(expect.any(String));
    expect(await counted(c.status)).toBe(before + 1);
  });

  it("is still serving, and polluted nothing", async () => {
    expect((await send({ name: "ok", path: predict, body: { features: row }, status: 200, field: "" })).status).toBe(200);
    expect((await fetch(`${app.svc.url}/healthz`)).status).toBe(200);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    if (process.env.MLWATCH_PRINT_CORPUS) console.log(["| case | route | status | field | reason |", "|---|---|---|---|---|", ...record].join("\n"));
  });
});
