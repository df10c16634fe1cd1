import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SEEDED, startMcpFixture, text, type McpFixture } from "./mcp-fixture.ts";

// SQL injection through every filter of query_inference_logs and every name a caller can pass. Each
// payload is built so that, spliced into the SQL text, it would widen the result (a tautology) or
// change the store; passed as a query parameter or refused as an unknown identifier, it can only
// match nothing or fail. So a concatenated value makes these tests fail.

let f: McpFixture;

beforeAll(async () => {
  f = await startMcpFixture();
}, 120_000);

afterAll(() => f?.close());

const tautologies = ["x' OR '1'='1", "x' OR 1=1 --", "x') OR ('1'='1", "x' OR 1=1 UNION ALL SELECT * FROM system.one --", "{model:String}", "x\\' OR 1=1 --", "x`; DROP TABLE predictions; --"];
const window = { lastSeconds: 7200 };

async function rowCount(): Promise<number> {
  const [r] = await f.t.store.rows<{ n: number }>(`SELECT count() AS n FROM ${f.t.store.table("predictions")}`);
  return Number(r!.n);
}

describe("SQL injection", () => {
  it("the control: the unfiltered query returns rows, so an injected tautology would too", async () => {
    const r = await f.call("query_inference_logs", { model: "credit", window, limit: 5 });
    expect(r.isError).toBeFalsy();
    expect((r.structuredContent as { rows: unknown[] }).rows).toHaveLength(5);
  });

  const stringFilters = ["version", "requestId", "predicted", "label", "errorReason"] as const;
  it.each(stringFilters)("query_inference_logs %s: every payload matches nothing", async (filter) => {
    for (const payload of tautologies) {
      const r = await f.call("query_inference_logs", { model: "credit", window, [filter]: payload });
      expect(r.isError, `${filter}=${payload}: ${text(r)}`).toBeFalsy();
      expect((r.structuredContent as { rows: unknown[] }).rows, `${filter}=${payload}`).toEqual([]);
    }
  });

  it("query_inference_logs feature values: compared as values, never spliced", async () => {
    for (const payload of tautologies) {
      const r = await f.call("query_inference_logs", { model: "credit", window, features: [{ feature: "region", op: "eq", value: payload }] });
      expect(r.isError, text(r)).toBeFalsy();
      expect((r.structuredContent as { rows: unknown[] }).rows).toEqual([]);
    }
  });

  it("feature names, model names and versions are checked identifiers: an injected one is refused by name", async () => {
    for (const payload of tautologies) {
      const calls: [string, Record<string, unknown>][] = [
        ["query_inference_logs", { model: "credit", window, features: [{ feature: `income${payload}`, op: "gt", value: 0 }] }],
        ["get_feature_distribution", { model: "credit", feature: payload, window }],
        ["get_feature_distribution", { model: "credit", feature: "income", version: payload.slice(0, 64), window }],
        ["compare_model_versions", { model: "credit", versionA: "1", versionB: payload.slice(0, 64), window }],
        ["detect_data_drift", { model: "credit", version: payload.slice(0, 64), window }],
        ["get_model_accuracy", { model: payload.slice(0, 64), window }],
        ["get_model_health", { model: payload.slice(0, 64), window }],
        ["get_deployment_history", { model: payload.slice(0, 64) }],
        ["query_inference_logs", { model: payload.slice(0, 64), window }],
      ];
      for (const [tool, args] of calls) {
        const r = await f.call(tool, args);
        const answer = text(r);
        // Either refused naming what is unknown, or (a version filter) an empty answer about nothing.
        if (r.isError) expect(answer, `${tool} ${JSON.stringify(args)}`).toMatch(/unknown|not|no /i);
        else expect(JSON.stringify(r.structuredContent), `${tool} ${JSON.stringify(args)}`).not.toMatch(/"(rows|labelled|predictions)":[1-9]/);
      }
    }
  });

  it("get_model_accuracy for an injected version counts nothing", async () => {
    const r = await f.call("get_model_accuracy", { model: "credit", version: "1' OR '1'='1", window });
    if (!r.isError) expect((r.structuredContent as { predictions: number }).predictions).toBe(0);
  });

  it("left the store as it was", async () => {
    expect(await rowCount()).toBe(SEEDED);
    const tables = await f.t.store.rows<{ name: string }>(`SELECT name FROM system.tables WHERE database = {db:String}`, { db: f.t.config.clickhouse.database });
    expect(tables.map((r) => r.name)).toContain("predictions");
  });
});
