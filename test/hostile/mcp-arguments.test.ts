import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMcpFixture, text, type McpFixture } from "./mcp-fixture.ts";

// Bad arguments for every MCP tool: each answered with a tool error (isError) whose text names the
// argument, never a protocol failure or a crash; the server answers a good call afterwards.

let f: McpFixture;

beforeAll(async () => {
  f = await startMcpFixture();
}, 120_000);

afterAll(() => f?.close());

const deep = (n: number): unknown => (n === 0 ? {} : { a: deep(n - 1) });
const cases: [tool: string, args: Record<string, unknown>, names: RegExp][] = [
  ["list_models", { extra: 1 }, /extra/],
  ["get_model_health", { model: 7 }, /model/],
  ["get_model_health", { model: "credit", window: { lastSeconds: -1 } }, /window\.lastSeconds/],
  ["get_model_health", { model: "credit", bucketSeconds: 0 }, /bucketSeconds/],
  ["get_model_accuracy", { model: "credit", window: { lastSeconds: Number.MAX_VALUE } }, /window\.lastSeconds/],
  ["get_model_accuracy", { model: "", version: "1" }, /model/],
  ["get_model_accuracy", { model: "credit", window: { fromUs: 1.5 } }, /window\.fromUs/],
  ["detect_data_drift", { model: "credit", correction: "magic" }, /correction/],
  ["detect_data_drift", { model: "credit", shareThreshold: 2 }, /shareThreshold/],
  ["detect_data_drift", { model: "m".repeat(65) }, /model/],
  ["get_feature_distribution", { model: "credit" }, /feature/],
  ["get_feature_distribution", { model: "credit", feature: "__proto__" }, /__proto__/],
  ["get_feature_distribution", { model: "credit", feature: "constructor" }, /constructor/],
  ["compare_model_versions", { model: "credit", versionA: "1" }, /versionB/],
  ["compare_model_versions", { model: "credit", versionA: "1", versionB: "2", mode: "both" }, /mode/],
  ["query_inference_logs", { model: "credit", limit: -5 }, /limit/],
  ["query_inference_logs", { model: "credit", limit: 0 }, /limit/],
  ["query_inference_logs", { model: "credit", limit: 1e9 }, /limit/],
  ["query_inference_logs", { model: "credit", minConfidence: Number.NaN }, /minConfidence/],
  ["query_inference_logs", { model: "credit", features: [{ feature: "income", op: "like", value: 1 }] }, /features\.0\.op/],
  ["query_inference_logs", { model: "credit", features: [{ feature: "income", op: "gt", value: { $gt: 0 } }] }, /features\.0\.value/],
  ["query_inference_logs", { model: "credit", features: Array.from({ length: 21 }, () => ({ feature: "income", op: "gt", value: 0 })) }, /features/],
  ["query_inference_logs", { model: "credit", features: [{ feature: "no_such", op: "eq", value: 1 }] }, /no_such/],
  ["query_inference_logs", { model: "credit", features: [{ feature: "income", op: "eq", value: "rich" }] }, /income/],
  ["query_inference_logs", { model: "credit", orderBy: "random()" }, /orderBy/],
  ["query_inference_logs", { model: "credit", groupBy: "model" }, /groupBy/],
  ["query_inference_logs", { model: "credit", cursor: "not-a-cursor" }, /cursor/],
  ["query_inference_logs", { model: "credit", requestId: "r".repeat(1025) }, /requestId/],
  ["query_inference_logs", { model: "credit", nested: deep(200) }, /nested/],
  ["get_deployment_history", { model: "credit", limit: -1 }, /limit/],
  ["get_deployment_history", { model: "credit", cursor: "%%%" }, /cursor/],
  ["list_proposals", { status: "open" }, /status/],
  ["get_proposal", { proposal_id: "" }, /proposal_id/],
  ["get_proposal", { proposal_id: "p-does-not-exist" }, /p-does-not-exist/],
  ["propose_action", { model: "credit", action: "delete_everything", reason: "x" }, /action/],
  ["propose_action", { model: "credit", action: "set_traffic_split", canaryPercent: 150, reason: "x" }, /canaryPercent/],
  ["propose_action", { model: "credit", action: "rollback", reason: "" }, /reason/],
  ["propose_action", { model: "credit", action: "rollback", version: "9", canaryPercent: 5, reason: "x" }, /canaryPercent/],
  ["apply_action", { proposal_id: 42 }, /proposal_id/],
  ["apply_action", { proposal_id: "p-nope" }, /p-nope/],
];

describe("bad MCP tool arguments", () => {
  it.each(cases)("%s %j: a tool error naming the argument", async (tool, args, names) => {
    const r = await f.call(tool, args);
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(names);
    expect(r.structuredContent).toBeUndefined();
  });

  it("approve_action is not even offered to the agent's credential", async () => {
    // Refused as invalid params (-32602) before any tool runs: the connection has no such tool.
    await expect(f.call("approve_action", { proposal_id: "p-1", decision: "approve" })).rejects.toMatchObject({
      code: -32602,
      message: expect.stringMatching(/approve_action not found/),
    });
  });

  it("still answers a good call", async () => {
    const r = await f.call("get_model_health", { model: "credit" });
    expect(r.isError).toBeFalsy();
  });
});
