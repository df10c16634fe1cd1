import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Registry } from "prom-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LogWriter, type LogWriterOptions } from "../inference/log-writer.ts";
import { createLogWriterMetrics, type LogWriterMetrics } from "../inference/log-writer-metrics.ts";
import type { Store } from "../store/client.ts";
import type { LabelRow, PredictionRow } from "../store/tables.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const HOUR = 3_600_000;

let t: TempStore;
let spoolRoot: string;
const writers: LogWriter<object>[] = [];

beforeAll(async () => {
  t = await tempStore();
  spoolRoot = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-spool-"));
});
afterAll(async () => {
  for (const w of writers) await w.close();
  await t?.cleanup();
  if (spoolRoot) fs.rmSync(spoolRoot, { recursive: true, force: true });
});

function prediction(id: string, overrides: Partial<PredictionRow> = {}): PredictionRow {
  return {
    request_id: id,
    ts: 1_790_000_000_000_000,
    model: "m",
    version: "1",
    variant: "primary",
    feature_num: [1.5, null, 3.25],
    feature_cat: ["a", "é"],
    feature_bin: [3, 255, 0, 1, 2],
    feature_hash: "h",
    predicted: "yes",
    probabilities: [0.25, 0.75],
    confidence: 0.75,
    latency_us: 120,
    error: "",
    correlation_id: "c",
    fallback: "",
    cached: 0,
    job_id: "",
    ...overrides,
  };
}

function ids(prefix: string, n: number, from = 0): PredictionRow[] {
  return Array.from({ length: n }, (_, i) => prediction(`${prefix}-${from + i}`));
}

let dirs = 0;
function freshDir(): string {
  return path.join(spoolRoot, `spool-${++dirs}`);
}

async function open<R extends object = PredictionRow>(opts: Partial<LogWriterOptions> & { dir: string }): Promise<LogWriter<R>> {
  const w = await LogWriter.open<R>({ store: t.store, table: "predictions", flushIntervalMs: HOUR, ...opts });
  writers.push(w as LogWriter<object>);
  return w;
}

/** Rows in the store for a request-id prefix, each (request_id, variant) counted once as the tables intend. */
async function stored(prefix: string, table = "predictions"): Promise<number> {
  const [row] = await t.store.rows<{ n: number }>(
    `SELECT count() AS n FROM ${t.store.table(table)} FINAL WHERE startsWith(request_id, {p:String})`,
    { p: prefix },
  );
  return Number(row?.n);
}

/** Physical rows, duplicates included: shows what FINAL collapsed. */
async function storedRaw(prefix: string): Promise<number> {
  const [row] = await t.store.rows<{ n: number }>(
    `SELECT count() AS n FROM ${t.store.table("predictions")} WHERE startsWith(request_id, {p:String})`,
    { p: prefix },
  );
  return Number(row?.n);
}

/** The real store, noting the size of each insert on its way through (nothing else changes). */
function recording(sizes: number[]): Store {
  return { ...t.store, insert: (table, rows) => (sizes.push(rows.length), t.store.insert(table, rows)) };
}

function segmentFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => /^segment-\d+\.jsonl$/.test(f)).sort();
}

function linesOnDisk(dir: string): number {
  return segmentFiles(dir).reduce((n, f) => n + fs.readFileSync(path.join(dir, f), "utf8").split("\n").filter(Boolean).length, 0);
}

/** Makes the real insert path fail: the table is moved out of the way (and back). */
async function breakStore(): Promise<void> {
  await t.store.command(`RENAME TABLE ${t.store.table("predictions")} TO ${t.store.table("predictions_away")}`);
}
async function mendStore(): Promise<void> {
  await t.store.command(`RENAME TABLE ${t.store.table("predictions_away")} TO ${t.store.table("predictions")}`);
}

/** A bounded wait for a condition, polled; the bound is generous and never the thing under test. */
async function eventually(cond: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function counter(metric: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> }, table = "predictions") {
  const { values } = await metric.get();
  return values.find((v) => v.labels.table === table && v.labels.le === undefined)?.value ?? 0;
}

function metrics(): LogWriterMetrics {
  return createLogWriterMetrics(new Registry());
}

describe("LogWriter", () => {
  it("inserts appended rows exactly once on flush, in chunks, and leaves no segment behind", async () => {
    const dir = freshDir();
    const m = metrics();
    const w = await open({ dir, flushRows: 10, metrics: m });
    for (let i = 0; i < 5; i++) expect(w.append(ids("basic", 7, i * 7))).toBe("ok");
    expect(w.stats().buffered).toBeLessThanOrEqual(10);
    expect(linesOnDisk(dir)).toBe(35); // written before append returned
    await w.flush();
    expect(await stored("basic-")).toBe(35);
    expect(await storedRaw("basic-")).toBe(35);
    expect(segmentFiles(dir)).toEqual([]);
    expect(w.stats()).toMatchObject({ buffered: 0, pendingSegments: 0, spoolBytes: 0, flushedRows: 35, storeWritable: true, failedFlushes: 0 });
    expect(await counter(m.flushedRows)).toBe(35);
    expect(await counter(m.spoolBytes)).toBe(0);
    await w.close();
    expect(fs.readdirSync(dir)).toEqual([]); // lock released too
  });

  it("inserts one append larger than flushRows in chunks of at most flushRows", async () => {
    const dir = freshDir();
    const sizes: number[] = [];
    const w = await open({ dir, flushRows: 10, store: recording(sizes) });
    expect(w.append(ids("oversize", 25))).toBe("ok");
    await w.flush();
    expect(await stored("oversize-")).toBe(25);
    expect(sizes).toEqual([10, 10, 5]);
    expect(w.stats()).toMatchObject({ flushedRows: 25, pendingSegments: 0, spoolBytes: 0 });
    await w.close();
  });

  it("flushes on its own when flushRows rows are waiting", async () => {
    const dir = freshDir();
    const w = await open({ dir, flushRows: 10 }); // the timer is an hour away
    expect(w.append(ids("counted", 9))).toBe("ok");
    expect(w.append(ids("counted", 1, 9))).toBe("ok");
    expect(await eventually(async () => (await stored("counted-")) === 10)).toBe(true);
    expect(await eventually(() => segmentFiles(dir).length === 0)).toBe(true);
    await w.close();
  });

  it("flushes on its own every flushIntervalMs", async () => {
    const dir = freshDir();
    const w = await open({ dir, flushRows: 1000, flushIntervalMs: 50 });
    expect(w.append(ids("timed", 12))).toBe("ok");
    expect(await eventually(async () => (await stored("timed-")) === 12)).toBe(true);
    expect(await eventually(() => segmentFiles(dir).length === 0 && w.stats().spoolBytes === 0)).toBe(true);
    expect(await stored("timed-")).toBe(12);
    await w.close();
  });

  it("spools to disk while the store rejects inserts, keeps at most flushRows rows outside closed segments, then delivers every row once", async () => {
    const dir = freshDir();
    const m = metrics();
    const w = await open({ dir, flushRows: 20, metrics: m });
    await breakStore();
    try {
      for (let round = 0; round < 4; round++) {
        for (let i = 0; i < 50; i++) {
          expect(w.append([prediction(`down-${round}-${i}`)])).toBe("ok");
          expect(w.stats().buffered).toBeLessThanOrEqual(20);
        }
        await w.flush();
        expect(w.stats().storeWritable).toBe(false);
      }
      for (let i = 0; i < 7; i++) w.append([prediction(`down-tail-${i}`)]);
      const s = w.stats();
      expect(s.storeWritable).toBe(false);
      expect(s.failedFlushes).toBeGreaterThanOrEqual(4);
      expect(s.flushedRows).toBe(0);
      expect(s.buffered).toBeLessThanOrEqual(20);
      expect(s.pendingSegments).toBeGreaterThanOrEqual(10); // 200 rows in segments of at most 20
      expect(segmentFiles(dir).length).toBe(s.pendingSegments + 1); // plus the open one
      expect(linesOnDisk(dir)).toBe(207);
      expect(s.spoolBytes).toBe(segmentFiles(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0));
      expect(await counter(m.flushFailures)).toBe(s.failedFlushes);
      expect(await counter(m.spoolSegments)).toBe(s.pendingSegments);
    } finally {
      await mendStore();
    }
    await w.flush();
    expect(await stored("down-")).toBe(207);
    expect(segmentFiles(dir)).toEqual([]);
    expect(w.stats()).toMatchObject({ storeWritable: true, pendingSegments: 0, spoolBytes: 0, buffered: 0, flushedRows: 207 });
    await w.close();
  });

  it("sets aside a row the store refuses for its contents and delivers the rows beside it", async () => {
    const dir = freshDir();
    const m = metrics();
    const w = await open({ dir, flushRows: 40, metrics: m });
    // An unpaired surrogate: valid JSON from JSON.stringify, refused by ClickHouse's JSON parser.
    const poisoned = prediction("poison-17", { feature_cat: ["a", "\ud800"] });
    w.append(ids("poison", 17));
    w.append([poisoned]);
    w.append(ids("poison", 22, 18)); // 40 rows: one whole segment, inserted as it is first
    w.append(ids("poison-tail", 5)); // and a second, healthy one
    await w.flush();
    expect(await stored("poison-")).toBe(39 + 5);
    expect(w.stats()).toMatchObject({ storeWritable: true, pendingSegments: 0, flushedRows: 44, rejectedRows: 1, failedFlushes: 0 });
    expect(await counter(m.rejectedRows)).toBe(1);
    expect(segmentFiles(dir)).toEqual([]);
    const [line, ...rest] = fs.readFileSync(path.join(dir, "rejected.jsonl"), "utf8").trim().split("\n");
    expect(rest).toEqual([]);
    const rejected = JSON.parse(line!);
    expect(rejected.row.request_id).toBe("poison-17");
    expect(rejected.reason).toMatch(/surrogate|escape/i);
    await w.close();
  });

  it("replays what a killed process left, skipping and counting a torn last line", async () => {
    const dir = freshDir();
    const child = await killedWriter(dir);
    // The child's store had no tables, so nothing reached any store; it was killed with SIGKILL.
    expect(child.signal).toBe("SIGKILL");
    expect(child.stats).toMatchObject({ storeWritable: false, flushedRows: 0 });
    expect(child.stats.pendingSegments).toBeGreaterThanOrEqual(3);
    const files = segmentFiles(dir);
    expect(files.length).toBe(child.stats.pendingSegments + 1);
    expect(linesOnDisk(dir)).toBe(280);
    // Tear the last line of the newest segment, as a kill in the middle of a write would.
    const last = path.join(dir, files.at(-1)!);
    fs.appendFileSync(last, JSON.stringify(prediction("crash-torn")).slice(0, 57));

    const m = metrics();
    const w = await open({ dir, flushRows: 100, metrics: m });
    // Appends are accepted while the replay runs.
    expect(w.append(ids("crash-after", 5))).toBe("ok");
    await w.flush();
    expect(await stored("crash-")).toBe(285);
    expect(await stored("crash-torn")).toBe(0);
    expect(w.stats()).toMatchObject({ skippedLines: 1, pendingSegments: 0, spoolBytes: 0, storeWritable: true, flushedRows: 285 });
    expect(await counter(m.skippedLines)).toBe(1);
    expect(segmentFiles(dir)).toEqual([]);
    await w.close();
  });

  it("replays a leftover segment larger than flushRows in chunks, and keeps a last line whose newline alone is missing", async () => {
    const dir = freshDir();
    fs.mkdirSync(dir, { recursive: true });
    const lines = ids("big", 95).map((r) => JSON.stringify(r));
    // A damaged line in the middle (skipped), and a last line whose newline alone is missing (kept).
    const text = [...lines.slice(0, 50), "{not json", ...lines.slice(50)].join("\n");
    fs.writeFileSync(path.join(dir, "segment-000000000007.jsonl"), text);
    fs.writeFileSync(path.join(dir, "segment-000000000009.jsonl"), "");
    const sizes: number[] = [];
    const w = await open({ dir, flushRows: 10, store: recording(sizes) });
    expect(w.stats().pendingSegments).toBe(2);
    await w.flush();
    expect(await stored("big-")).toBe(95);
    expect(sizes).toEqual([...Array(9).fill(10), 5]);
    expect(w.stats()).toMatchObject({ flushedRows: 95, skippedLines: 1, pendingSegments: 0 });
    // New segments continue after the highest sequence found.
    w.append(ids("big-next", 1));
    expect(segmentFiles(dir)).toEqual(["segment-000000000010.jsonl"]);
    await w.close();
  });

  it("does not double-count rows replayed after they had already reached the store", async () => {
    const dir = freshDir();
    fs.mkdirSync(dir, { recursive: true });
    const rows = ids("dup", 40);
    await t.store.insert("predictions", rows.slice(0, 30)); // these made it before the "crash"...
    fs.writeFileSync(path.join(dir, "segment-000000000001.jsonl"), rows.map((r) => JSON.stringify(r) + "\n").join("")); // ...and were still spooled
    const w = await open({ dir, flushRows: 1000 });
    w.append(rows.slice(35)); // and the caller retried some of them too
    await w.flush();
    expect(w.stats().flushedRows).toBe(45); // 40 replayed + 5 appended: 75 physical rows for 40 requests
    expect(await stored("dup-")).toBe(40);
    await w.close();
  });

  it.each(["drop", "refuse"] as const)("applies the %s policy when the spool is full", async (policy) => {
    const dir = freshDir();
    const m = metrics();
    const rowBytes = Buffer.byteLength(JSON.stringify(prediction(`full-${policy}-000`)) + "\n");
    const w = await open({ dir, flushRows: 4, maxSpoolBytes: rowBytes * 10 + rowBytes / 2, spoolFullPolicy: policy, metrics: m });
    const expected = policy === "drop" ? "dropped" : "refused";
    await breakStore();
    const results: string[] = [];
    try {
      for (let i = 0; i < 15; i++) {
        results.push(w.append([prediction(`full-${policy}-${String(i).padStart(3, "0")}`)]));
        if (i % 5 === 4) await w.flush();
      }
      expect(results.slice(0, 10)).toEqual(Array(10).fill("ok"));
      expect(results.slice(10)).toEqual(Array(5).fill(expected));
      const s = w.stats();
      expect(s.storeWritable).toBe(false);
      expect(s.spoolBytes).toBeLessThanOrEqual(rowBytes * 10 + rowBytes / 2);
      expect(policy === "drop" ? s.droppedRows : s.refusedRows).toBe(5);
      expect(policy === "drop" ? s.refusedRows : s.droppedRows).toBe(0);
      expect(await counter(policy === "drop" ? m.droppedRows : m.refusedRows)).toBe(5);
    } finally {
      await mendStore();
    }
    await w.flush();
    expect(await stored(`full-${policy}-`)).toBe(10);
    expect(w.append([prediction(`full-${policy}-again`)])).toBe("ok"); // room again once the store took the backlog
    await w.close();
  });

  it("writes label rows to the labels table", async () => {
    const dir = freshDir();
    const w = await open<LabelRow>({ dir, table: "labels" });
    w.append([{ request_id: "lbl-1", model: "m", label: "yes", label_ts: 1_790_000_000_000_000 }]);
    w.append([{ request_id: "lbl-1", model: "m", label: "no", label_ts: 1_790_000_000_000_001 }]);
    await w.close(); // close flushes
    expect(await stored("lbl-", "labels")).toBe(1);
    const rows = await t.store.rows<{ label: string }>(`SELECT label FROM ${t.store.table("labels")} FINAL WHERE request_id = 'lbl-1'`);
    expect(rows).toEqual([{ label: "no" }]);
  });

  it("leaves unflushed segments on disk at close, refuses appends afterwards, and one writer owns a directory", async () => {
    const dir = freshDir();
    const w = await open({ dir });
    await expect(LogWriter.open({ store: t.store, table: "predictions", dir })).rejects.toThrow(/already open/);
    await breakStore();
    try {
      w.append(ids("closed", 3));
      await w.close();
    } finally {
      await mendStore();
    }
    expect(w.append(ids("closed-late", 1))).toBe("refused");
    expect(linesOnDisk(dir)).toBe(3);
    const again = await open({ dir });
    await again.flush();
    expect(await stored("closed-")).toBe(3);
    await again.close();
  });
});

/**
 * A writer in another process whose store has no tables (every insert fails), killed with SIGKILL
 * after some appends and one failed flush: exactly what a crash while the store is down leaves.
 */
async function killedWriter(dir: string): Promise<{ signal: NodeJS.Signals | null; stats: ReturnType<LogWriter<object>["stats"]> }> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-child-"));
  const script = path.join(work, "child.mts"); // .mts: no package.json says "module" here
  const imp = (p: string) => JSON.stringify(path.join(root, p));
  fs.writeFileSync(
    script,
    `import { loadConfig } from ${imp("config.ts")};
import { openStore } from ${imp("store/client.ts")};
import { LogWriter } from ${imp("inference/log-writer.ts")};
const store = await openStore(loadConfig({ MLWATCH_DATA_DIR: ${JSON.stringify(path.join(work, "data"))} }));
const w = await LogWriter.open({ store, table: "predictions", dir: ${JSON.stringify(dir)}, flushRows: 100, flushIntervalMs: 3_600_000 });
const row = (i) => ({ request_id: "crash-" + i, ts: 1_790_000_000_000_000, model: "m", version: "1", variant: "primary",
  feature_num: [i, null], feature_cat: ["x"], feature_bin: [1, 2], feature_hash: "h", predicted: "yes",
  probabilities: [0.5, 0.5], confidence: 0.5, latency_us: 1, error: "", correlation_id: "" });
for (let i = 0; i < 250; i++) if (w.append([row(i)]) !== "ok") process.exit(3);
await w.flush();
for (let i = 250; i < 280; i++) if (w.append([row(i)]) !== "ok") process.exit(4);
process.stdout.write(JSON.stringify(w.stats()) + "\\n", () => process.kill(process.pid, "SIGKILL"));
`,
  );
  try {
    const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const signal = await new Promise<NodeJS.Signals | null>((resolve, reject) => {
      child.on("error", reject);
      child.on("exit", (code, sig) => (sig ? resolve(sig) : reject(new Error(`child exited with ${code}: ${err}`))));
    });
    return { signal, stats: JSON.parse(out.trim()) };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
