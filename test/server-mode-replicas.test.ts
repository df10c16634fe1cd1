import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import { openStore } from "../store/client.ts";
import { startStandIn, type StandIn } from "./helpers/clickhouse-standin.ts";
import { eventually } from "./helpers/eventually.ts";
import { driveLoad, type LoadResult } from "./helpers/load-driver.ts";
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
  // Long enough that a kill lands with answers only in the spool, short enough to drain quickly.
  MLWATCH_LOG_FLUSH_MS: "1000",
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

interface Ready {
  store: string;
  log: string;
  writers: { predictions: { pendingSegments: number; storeWritable: boolean } };
}

async function ready(replica: ServeProcess): Promise<Ready> {
  return (await (await fetch(`${replica.url}/readyz`)).json()) as Ready;
}

async function predictionsTotal(replica: ServeProcess): Promise<number> {
  const text = await (await fetch(`${replica.url}/metrics`)).text();
  return [...text.matchAll(/^model_predictions_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

function spooledLines(replica: string): number {
  const spool = path.join(work, replica, "spool", "predictions");
  return fs
    .readdirSync(spool)
    .filter((f) => f.endsWith(".jsonl"))
    .reduce((n, f) => n + fs.readFileSync(path.join(spool, f), "utf8").split("\n").filter(Boolean).length, 0);
}

/** Until the replica has spooled nothing and its writer reaches the store again. */
async function drained(replica: ServeProcess) {
  await eventually(async () => expect(await ready(replica)).toMatchObject({ log: "store", writers: { predictions: { pendingSegments: 0 } } }), 60_000, 100);
}

/** Copies of each request id in the store (FINAL: as every reader counts them). */
async function copiesByRequestId(prefix: string): Promise<Map<string, number>> {
  const store = await openStore(loadConfig({ CLICKHOUSE_URL: standIn.url, MLWATCH_DATA_DIR: work }));
  try {
    const found = await store.rows<{ request_id: string; n: number }>(
      `SELECT request_id, count() AS n FROM ${store.table("predictions")} FINAL WHERE startsWith(request_id, {prefix:String}) GROUP BY request_id`,
      { prefix },
    );
    return new Map(found.map((r) => [r.request_id, Number(r.n)]));
  } finally {
    await store.close();
  }
}

/** Answered ids missing from the store, and ids stored more than once. */
function audit(answered: readonly string[], copies: Map<string, number>) {
  return { lost: answered.filter((id) => !copies.has(id)).length, doubled: [...copies.values()].filter((n) => n !== 1).length };
}

/**
 * The store's copies once the last answers are in: rows answered in the final flush interval are
 * still in a replica's open segment when /readyz already reads "store" with nothing pending.
 */
async function settled(prefix: string, answered: readonly string[]): Promise<Map<string, number>> {
  let copies = new Map<string, number>();
  await eventually(async () => {
    copies = await copiesByRequestId(prefix);
    expect(audit(answered, copies).lost).toBe(0);
  }, 15_000, 200).catch(() => undefined);
  return copies;
}

describe("faults across processes in server mode", () => {
  it("kill -9 of one replica under load: the other keeps serving, the killed one's spool replays on restart, 0 lost, 0 doubled", async () => {
    const victim = a;
    let killed = false;
    let done = false;
    const onA: Promise<LoadResult> = driveLoad({ url: victim.url, model: "credit", rows, concurrency: 4, idPrefix: "k9a", stop: () => killed });
    const onB: Promise<LoadResult> = driveLoad({ url: b.url, model: "credit", rows, concurrency: 4, idPrefix: "k9b", stop: () => done });
    await eventually(async () => expect(await predictionsTotal(victim)).toBeGreaterThan(600), 60_000, 50);
    await victim.stop("SIGKILL");
    killed = true;
    const fromA = await onA;
    const leftInSpool = spooledLines("a");
    const answeredByBAtKill = await predictionsTotal(b);
    a = await startServe(replicaEnv("a"));
    expect(a.output()).toMatch(/replaying log spool left by a previous process/);
    await drained(a);
    // B served through A's death and restart.
    await eventually(async () => expect(await predictionsTotal(b)).toBeGreaterThan(answeredByBAtKill + 100), 30_000, 50);
    done = true;
    const fromB = await onB;
    await drained(b);
    const copies = await settled("k9", [...fromA.answered, ...fromB.answered]);
    const figures = { a: audit(fromA.answered, copies), b: audit(fromB.answered, copies) };
    console.log(
      `server-mode kill -9: A sent ${fromA.sent}, answered ${fromA.answered.length}, failed ${JSON.stringify(fromA.failed)}; ` +
        `rows left in A's spool ${leftInSpool}; B answered ${fromB.answered.length}, failed ${JSON.stringify(fromB.failed)}; in the store ${copies.size}; ${JSON.stringify(figures)}`,
    );
    expect(fromA.failed.network ?? 0).toBeGreaterThan(0); // the kill landed mid-load
    expect(leftInSpool).toBeGreaterThan(0); // and some answers existed only in A's spool
    expect(fromB.failed).toEqual({});
    expect(figures).toEqual({ a: { lost: 0, doubled: 0 }, b: { lost: 0, doubled: 0 } });
  }, 120_000);

  it("the store stopped under load: both replicas keep answering and spool, /readyz says so, and after a restart nothing is lost", async () => {
    let done = false;
    const loads = [a, b].map((r, i) => driveLoad({ url: r.url, model: "credit", rows, concurrency: 4, idPrefix: `outage${i}`, stop: () => done }));
    await eventually(async () => expect(await predictionsTotal(b)).toBeGreaterThan(200), 30_000, 50);
    await standIn.stop("SIGKILL");
    for (const r of [a, b]) {
      await eventually(async () => expect(await ready(r)).toMatchObject({ store: "unreachable", log: "spooling", writers: { predictions: { storeWritable: false } } }), 30_000, 50);
    }
    // Answers go on with the store down.
    const during = await Promise.all([a, b].map(predictionsTotal));
    await eventually(async () => {
      const now = await Promise.all([a, b].map(predictionsTotal));
      expect(now.every((n, i) => n > during[i]! + 100)).toBe(true);
    }, 30_000, 50);
    standIn = await startStandIn({ dir: standIn.dir, port: standIn.port });
    await Promise.all([a, b].map(drained));
    done = true;
    const [fromA, fromB] = await Promise.all(loads);
    await Promise.all([a, b].map(drained));
    const copies = await settled("outage", [...fromA!.answered, ...fromB!.answered]);
    const figures = { a: audit(fromA!.answered, copies), b: audit(fromB!.answered, copies) };
    console.log(
      `server-mode store outage: answered A ${fromA!.answered.length} B ${fromB!.answered.length}, failed A ${JSON.stringify(fromA!.failed)} B ${JSON.stringify(fromB!.failed)}; ` +
        `in the store ${copies.size}; ${JSON.stringify(figures)}`,
    );
    expect([fromA!.failed, fromB!.failed]).toEqual([{}, {}]);
    expect(figures).toEqual({ a: { lost: 0, doubled: 0 }, b: { lost: 0, doubled: 0 } });
  }, 120_000);

  it("two actors across replicas: of two changes from one state, measure how often both land (no transactions to stop it)", async () => {
    const rounds = 10;
    const outcomes: string[] = [];
    for (let i = 0; i < rounds; i++) {
      const expected = await trafficEventId(a);
      await eventually(async () => expect(await trafficEventId(b)).toBe(expected), 10_000, POLL_MS / 2);
      const send = async (replica: ServeProcess, percent: number) => {
        const res = await fetch(`${replica.url}/v1/admin/models/credit/split`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ canary_percent: percent, expected_event_id: expected, actor: `actor-${percent}`, reason: "race" }),
        });
        return { status: res.status, body: await res.text() };
      };
      const answers = await Promise.all([send(a, 10 + i), send(b, 60 + i)]);
      const statuses = answers.map((r) => r.status).sort();
      expect(statuses, JSON.stringify(answers)).toContain(200);
      outcomes.push(statuses.join("+"));
      // Whatever landed, both replicas settle on one newest event.
      await eventually(async () => {
        const [ea, eb] = await Promise.all([trafficEventId(a), trafficEventId(b)]);
        expect(ea).not.toBe(expected);
        expect(ea).toBe(eb);
      }, 30_000, POLL_MS / 2);
    }
    const count = (o: string) => outcomes.filter((x) => x === o).length;
    console.log(`two actors across replicas, ${rounds} rounds: both landed ${count("200+200")}, one landed and one got 409 ${count("200+409")}`);
    expect(count("200+200") + count("200+409")).toBe(rounds);
  }, 120_000);
});
