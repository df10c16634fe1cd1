import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../config.ts";
import { generateCredit } from "../../models/datasets/credit.ts";
import { openStore } from "../../store/client.ts";
import { eventually } from "../helpers/eventually.ts";
import { driveLoad, type LoadResult } from "../helpers/load-driver.ts";
import { runCli, startServe, type ServeProcess } from "../helpers/serve-process.ts";

// kill -9 of `mlwatch serve` in the middle of sustained load: every request answered 200 must be in
// the store exactly once after a restart. The test process opens the store only at the very end,
// when no server holds the directory (chDB: one process per data directory).

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-kill9-"));
// Two-second flushes leave the last couple of seconds of answers only in the spool when the kill lands.
const env = { MLWATCH_DATA_DIR: dir, MLWATCH_LOG_FLUSH_MS: "2000" };
const rows = generateCredit(500, 5).examples.map((e) => e.row);
let server: ServeProcess | undefined;

beforeAll(async () => {
  await runCli(["train", "--name", "credit", "--rows", "2000"], env);
}, 120_000);

afterAll(async () => {
  await server?.stop("SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });
});

function spooledLines(): number {
  const spool = path.join(dir, "spool", "predictions");
  return fs
    .readdirSync(spool)
    .filter((f) => f.endsWith(".jsonl"))
    .reduce((n, f) => n + fs.readFileSync(path.join(spool, f), "utf8").split("\n").filter(Boolean).length, 0);
}

describe("kill -9 under load", () => {
  it("keeps every answered prediction: each is in the store exactly once after a restart", async () => {
    server = await startServe(env);
    expect(server.output()).toMatch(/MLWATCH_ADMIN_TOKEN is not set: listening on loopback only/);
    expect(new URL(server.url).hostname).toBe("127.0.0.1");
    const deploy = await fetch(`${server.url}/v1/admin/models/credit/deploy`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ version: "1", role: "primary", actor: "fault-test", reason: "setup" }),
    });
    expect(deploy.status).toBe(200);

    const victim = server;
    let killed = false;
    const load: Promise<LoadResult> = driveLoad({ url: victim.url, model: "credit", rows, concurrency: 16, idPrefix: "k9", stop: () => killed });
    // Kill once a good share of answers is out, whatever the machine's speed.
    await eventually(async () => {
      const text = await (await fetch(`${victim.url}/metrics`)).text();
      expect(Number(/model_predictions_total\{[^}]*\} (\d+)/.exec(text)?.[1] ?? 0)).toBeGreaterThan(1500);
    }, 60_000, 100);
    await victim.stop("SIGKILL");
    killed = true;
    const result = await load;
    const leftInSpool = spooledLines();
    console.log(`kill -9: sent ${result.sent}, answered ${result.answered.length}, failed ${JSON.stringify(result.failed)}, rows left in the spool ${leftInSpool}`);
    expect(result.failed.network ?? 0).toBeGreaterThan(0); // the kill did land mid-load
    expect(leftInSpool).toBeGreaterThan(0); // and some answers existed only in the spool

    server = await startServe(env);
    const restarted = server;
    await eventually(async () => {
      const ready = (await (await fetch(`${restarted.url}/readyz`)).json()) as { log: string; writers: { predictions: { pendingSegments: number } } };
      expect(ready.writers.predictions.pendingSegments).toBe(0);
      expect(ready.log).toBe("store");
    }, 60_000, 100);
    expect(restarted.output()).toMatch(/replaying log spool left by a previous process/);
    await restarted.stop("SIGTERM");
    server = undefined;

    const store = await openStore(loadConfig({ MLWATCH_DATA_DIR: dir }));
    try {
      const found = await store.rows<{ request_id: string; n: number }>(
        `SELECT request_id, count() AS n FROM ${store.table("predictions")} FINAL WHERE startsWith(request_id, 'k9-') GROUP BY request_id`,
      );
      const copies = new Map(found.map((r) => [r.request_id, Number(r.n)]));
      const lost = result.answered.filter((id) => !copies.has(id));
      const doubled = [...copies].filter(([, n]) => n !== 1);
      console.log(`kill -9: rows in the store ${copies.size} (answered ${result.answered.length}), lost ${lost.length}, doubled ${doubled.length}`);
      expect(lost).toEqual([]);
      expect(doubled).toEqual([]);
      // Rows beyond the answered ones were spooled for requests whose answer the kill cut off.
      expect(copies.size).toBeGreaterThanOrEqual(result.answered.length);
      expect(copies.size).toBeLessThanOrEqual(result.sent);
    } finally {
      await store.close();
    }
  }, 180_000);
});
