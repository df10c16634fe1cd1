/**
 * Open-loop load, run as its own process: requests go out at a fixed rate whatever the answers (as
 * many independent users send them), each timed from when it was due, so a server that falls behind
 * shows it in the latency instead of slowing the client down (no coordinated omission).
 *
 *   node --import tsx bench/lib/open-loop-client.ts <url> <rate/s> <seconds> <request-id prefix> <body>
 *
 * Prints one JSON line: sent, answers by status, latency percentiles of the 200s and of the 503s,
 * and how many 503s carried Retry-After.
 *
 * The client holds a fixed pool of keep-alive connections, opened before the clock starts, as a
 * load balancer or a client library does. Opening a new one whenever all were busy (the first
 * version) overflowed the server's listen queue under overload (the kernel counted 18,472
 * ListenOverflows in one run), and each dropped SYN came back a second or more later: a tail made
 * by the client's connection churn, not by the service.
 */
import http from "node:http";
import { performance } from "node:perf_hooks";

const [url, rateArg, secondsArg, prefix, body] = process.argv.slice(2) as [string, string, string, string, string];
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const POOL = 256;
const agent = new http.Agent({ keepAlive: true, maxSockets: POOL, maxFreeSockets: POOL });
const latency: Record<string, number[]> = {};
const byStatus: Record<string, number> = {};
let retryAfter = 0;
let inFlight = 0;

function send(i: number, dueMs: number): void {
  inFlight++;
  const req = http.request(url, { method: "POST", agent, headers: { "content-type": "application/json", "x-request-id": `${prefix}-${i}` } }, (res) => {
    res.resume();
    res.on("end", () => {
      const status = String(res.statusCode);
      byStatus[status] = (byStatus[status] ?? 0) + 1;
      (latency[status] ??= []).push(performance.now() - dueMs);
      if (status === "503" && res.headers["retry-after"]) retryAfter++;
      inFlight--;
    });
  });
  req.on("error", () => {
    byStatus.error = (byStatus.error ?? 0) + 1;
    inFlight--;
  });
  req.end(body);
}

function percentile(xs: number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 100) / 100;
}

async function openPool(): Promise<void> {
  const health = new URL("/healthz", url);
  await Promise.all(
    Array.from({ length: POOL }, () => new Promise<void>((done) => http.get(health, { agent }, (res) => res.resume().on("end", done)).on("error", () => done()))),
  );
}

await openPool();
const start = performance.now();
let sent = 0;
const total = Math.round(rate * seconds);
await new Promise<void>((done) => {
  const tick = setInterval(() => {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
    for (; sent < due; sent++) send(sent, start + (sent / rate) * 1000);
    if (sent >= total) {
      clearInterval(tick);
      done();
    }
  }, 1);
});
const deadline = performance.now() + 15_000;
while (inFlight > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
const stats = (xs: number[] = []) => ({ n: xs.length, p50Ms: percentile(xs, 50), p99Ms: percentile(xs, 99), maxMs: percentile(xs, 100) });
console.log(JSON.stringify({ offeredPerSec: rate, seconds, sent, unanswered: inFlight, byStatus, admitted: stats(latency["200"]), shed: stats(latency["503"]), shedWithRetryAfter: retryAfter }));
agent.destroy();
