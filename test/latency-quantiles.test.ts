import type { Client } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { InferenceService } from "../inference/service.ts";
import { makeDataset } from "../models/datasets/index.ts";
import type { ModelVersion } from "../models/registry.ts";
import { nowMicros } from "../store/clock.ts";
import { connectMcpClient, startMcpStack, TOKENS, toolCalls } from "./helpers/mcp-stack.ts";
import { registerTrained } from "./helpers/models.ts";
import { seedPredictions } from "./helpers/seed-store.ts";
import { LOOPBACK, tempStore, type TempStore } from "./helpers/temp-store.ts";

const MINUTE = 60e6;
let t: TempStore;
let svc: InferenceService;
let client: Client;
let v1: ModelVersion;
let v2: ModelVersion;
const { ok } = toolCalls(() => client);

/** A body of 1–6 ms and a tail of slow requests, all distinct: interpolating and nearest-rank quantiles part here. */
const latencyUs = (salt: number) => (i: number) => 1000 + ((i * 7919 + salt) % 5000) + (i % 40 === 0 ? 50_000 + i * 37 : 0);

beforeAll(async () => {
  t = await tempStore(LOOPBACK);
  v1 = await registerTrained(t.store, t.config.modelDir, { model: "credit", rows: 1500 });
  v2 = await registerTrained(t.store, t.config.modelDir, { model: "credit", rows: 1500, seed: 2 });
  const rows = makeDataset({ generator: "credit" }, 1200, 7).examples.map((e) => e.row);
  // Well inside the last hour, so both ends of "the last 3600 s" fall where no rows are.
  const startUs = nowMicros() - 40 * MINUTE;
  const seed = { model: "credit", rows, startUs, stepUs: 1e6 };
  await seedPredictions(t.store, { ...seed, version: v1.version, schema: v1.schema, requestIdPrefix: "p-", errorEvery: 50, latencyUs: latencyUs(0) });
  await seedPredictions(t.store, { ...seed, version: v2.version, schema: v2.schema, requestIdPrefix: "c-", rows: rows.slice(0, 300), variant: "canary", latencyUs: latencyUs(11) });
  await seedPredictions(t.store, { ...seed, version: v2.version, schema: v2.schema, requestIdPrefix: "p-", variant: "shadow", latencyUs: latencyUs(23) });
  svc = await startMcpStack(t);
  client = await connectMcpClient(`${svc.url}/mcp`, TOKENS.agent);
}, 120_000);

afterAll(async () => {
  await client?.close();
  await svc?.close();
  await t?.cleanup();
});

describe("one definition of latency quantiles", () => {
  it("gives the same p50, p95 and p99 in the audit summary and get_model_health for the same window, served and per version and role", async () => {
    const res = await fetch(`${svc.url}/v1/models/credit/audit/summary?window_seconds=3600`);
    expect(res.status).toBe(200);
    const audit = (await res.json()) as { total: number; latencyMs: { p50: number; p95: number; p99: number }; byVersion: { version: string; variant: string; total: number; p50Ms: number; p99Ms: number }[] };
    const { data: health } = await ok("get_model_health", { model: "credit", window: { lastSeconds: 3600 } });

    expect(audit.total).toBe(1500);
    expect(health.served.rows).toBe(audit.total);
    expect(audit.latencyMs.p99).toBeGreaterThan(audit.latencyMs.p95);
    expect(health.served.latencyMs).toEqual(audit.latencyMs);
    const groups = (rows: { version: string; variant: string }[]) => rows.map((r) => `${r.version}/${r.variant}`).sort();
    expect(groups(audit.byVersion)).toEqual(groups(health.byVersion));
    expect(audit.byVersion).toHaveLength(3);
    for (const a of audit.byVersion) {
      const h = health.byVersion.find((x: { version: string; variant: string }) => x.version === a.version && x.variant === a.variant);
      expect({ rows: h.rows, p50: h.latencyMs.p50, p99: h.latencyMs.p99 }, `${a.version}/${a.variant}`).toEqual({ rows: a.total, p50: a.p50Ms, p99: a.p99Ms });
    }
  });
});
