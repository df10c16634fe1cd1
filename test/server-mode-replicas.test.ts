import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCredit } from "../models/datasets/credit.ts";
import { startStandIn, type StandIn } from "./helpers/clickhouse-standin.ts";
import { eventually } from "./helpers/eventually.ts";
import { runCli, startServe, type ServeProcess } from "./helpers/serve-process.ts";

// Two `mlwatch serve` replicas, each its own process with its own spool, on one store reached over
// ClickHouse's HTTP interface (the stand-in, a third process), sharing a model directory as replicas
// share a volume. Deployment state lives only in the store: what one replica is told, the other
// learns by polling.

const work = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-replicas-"));
const POLL_MS = 100;
let standIn: StandIn;
let a: ServeProcess;
let b: ServeProcess;
const rows = generateCredit(50, 7).examples.map((e) => e.row);

const replicaEnv = (name: string) => ({
  CLICKHOUSE_URL: standIn.url,
  MLWATCH_MODEL_DIR: path.join(work, "models"),
  MLWATCH_DATA_DIR: path.join(work, name),
  MLWATCH_STATE_POLL_MS: String(POLL_MS),
  MLWATCH_LOG_FLUSH_MS: "200",
});

beforeAll(async () => {
  standIn = await startStandIn({ dir: path.join(work, "clickhouse") });
  // Two versions of one model, registered in the shared store by a CLI process of their own.
  await runCli(["train", "--name", "credit", "--rows", "1500"], replicaEnv("trainer"));
  await runCli(["train", "--name", "credit", "--rows", "1500", "--seed", "2"], replicaEnv("trainer"));
  [a, b] = await Promise.all([startServe(replicaEnv("a")), startServe(replicaEnv("b"))]);
}, 180_000);

afterAll(async () => {
  await Promise.all([a?.stop("SIGKILL"), b?.stop("SIGKILL")]);
  await standIn?.stop("SIGTERM");
  fs.rmSync(work, { recursive: true, force: true });
});

async function admin(replica: ServeProcess, route: string, body: Record<string, unknown>) {
  const res = await fetch(`${replica.url}/v1/admin/models/credit/${route}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ actor: "replica-test", reason: "server-mode test", ...body }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as { event_id: string };
}

async function predict(replica: ServeProcess, routingKey: string, id: string) {
  const res = await fetch(`${replica.url}/v1/models/credit/predict`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-request-id": id },
    body: JSON.stringify({ features: rows[Number(id.replace(/\D/g, "")) % rows.length], routing_key: routingKey }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { version: string; variant: string };
}

async function trafficEventId(replica: ServeProcess): Promise<string | null> {
  const res = await fetch(`${replica.url}/v1/admin/models/credit/traffic`);
  return res.status === 200 ? ((await res.json()) as { event_id: string | null }).event_id : null;
}

describe("two serve replicas on one server-mode store", () => {
  it("a deploy through replica A is served by replica B once B has polled", async () => {
    const { event_id } = await admin(a, "deploy", { version: "1", role: "primary" });
    // B learns the change from the store alone; the bound is generous, the poll is 100 ms.
    await eventually(async () => expect(await trafficEventId(b)).toBe(event_id), 20 * POLL_MS + 5_000, POLL_MS / 2);
    expect(await predict(b, "user-0", "conv-1")).toMatchObject({ version: "1", variant: "primary" });
  });

  it("assigns a routing key to the same side of a canary on both replicas", async () => {
    const { event_id } = await admin(a, "deploy", { version: "2", role: "canary", percent: 50 });
    await eventually(async () => expect(await trafficEventId(b)).toBe(event_id), 20 * POLL_MS + 5_000, POLL_MS / 2);
    const keys = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const onA = await Promise.all(keys.map((k, i) => predict(a, k, `sticky-a-${i}`)));
    const onB = await Promise.all(keys.map((k, i) => predict(b, k, `sticky-b-${i}`)));
    expect(onB.map((r) => r.variant)).toEqual(onA.map((r) => r.variant));
    expect(onB.map((r) => r.version)).toEqual(onA.map((r) => r.version));
    // Both sides of the split occur, so agreement is not the trivial kind.
    expect(new Set(onA.map((r) => r.variant))).toEqual(new Set(["primary", "canary"]));
  });
});
