/**
 * Issue 16 item 5: deploy / promote / rollback / split / traffic as verbs of the CLI, each a client
 * of a real `mlwatch serve`'s admin API (its own process group, a temp data dir, any free port), so
 * a change made from the terminal is the same audited deployment event as one made with curl.
 * Errors are one line: the admin API's 4xx reason (exit 1), a serve that does not answer (exit 1,
 * naming the URL), a mistake in the arguments (exit 2).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "./helpers/eventually.ts";
import { closedPort } from "./helpers/ports.ts";
import { processGroupAlive } from "./helpers/serve-process.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const BIN = path.join(ROOT, "bin/mlwatch.js");
const TOKEN = "cli-traffic-admin-token-0123456789";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-cli-traffic-"));
const base = { MLWATCH_DATA_DIR: dir };
let serve: ChildProcess | undefined;
let url = "";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** One CLI command in its own process; never rejects, so exit codes can be asserted. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...base, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A traffic verb against the running serve, as a user with the admin token would run it. */
const verb = (args: string[], env: Record<string, string> = {}) => cli(args, { MLWATCH_INFERENCE_URL: url, MLWATCH_ADMIN_TOKEN: TOKEN, ...env });

async function ok(args: string[]): Promise<string> {
  const r = await verb(args);
  expect(r.stderr, `mlwatch ${args.join(" ")}`).toBe("");
  expect(r.code, `mlwatch ${args.join(" ")}: ${r.stdout}`).toBe(0);
  return r.stdout;
}

/** The admin API itself: what the verbs recorded. */
async function deployments(): Promise<{ action: string; version: string; actor: string; reason: string; state: unknown }[]> {
  const res = await fetch(`${url}/v1/admin/models/m/deployments?limit=100`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { events: never[] }).events;
}

/** The events table `traffic` prints after the state, cut by the header's column positions. */
function eventTable(out: string): Record<string, string>[] {
  const [header, ...lines] = out.split("\n\n")[1]!.trimEnd().split("\n");
  expect(header).toMatch(/^time\s+action\s+version\s+actor\s+reason$/);
  const columns = [...header!.matchAll(/\S+/g)].map((m) => ({ name: m[0], at: m.index }));
  return lines.map((line) => Object.fromEntries(columns.map((c, i) => [c.name, line.slice(c.at, columns[i + 1]?.at ?? line.length).trim()])));
}

beforeAll(async () => {
  // Two versions before serve starts: while it runs, it owns the embedded store.
  for (const seed of ["1", "2"]) {
    const r = await cli(["train", "--name", "m", "--rows", "2000", "--seed", seed]);
    expect(r.code, r.stderr).toBe(0);
  }
  serve = spawn(process.execPath, [BIN, "serve"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    env: { ...process.env, ...base, MLWATCH_PORT: "0", MLWATCH_HOST: "127.0.0.1", MLWATCH_ADMIN_TOKEN: TOKEN, LOG_LEVEL: "warn" },
  });
  let output = "";
  serve.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  serve.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  url = await eventually(() => {
    const m = /mlwatch serving on (http:\/\/\S+)/.exec(output);
    if (!m) throw new Error(`serve did not start:\n${output}`);
    return m[1]!;
  }, 60_000, 50);
}, 240_000);

afterAll(async () => {
  const pid = serve?.pid;
  if (pid && processGroupAlive(pid)) {
    process.kill(-pid, "SIGTERM");
    await eventually(() => expect(processGroupAlive(pid)).toBe(false), 15_000, 100).catch(() => process.kill(-pid, "SIGKILL"));
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("traffic verbs against a running serve", () => {
  it("traffic shows a registered model with nothing deployed", async () => {
    const out = await ok(["traffic", "m"]);
    expect(out).toMatch(/traffic of 'm' \(no deployment yet\):/);
    expect(out).toMatch(/^ {2}primary none$/m);
    // Registering is an event of the same log: both trained versions are there.
    expect(eventTable(out).map((r) => [r.action, r.version])).toEqual([
      ["register", "2"],
      ["register", "1"],
    ]);
  });

  it("deploy makes v1 the primary, with the reason given", async () => {
    const out = await ok(["deploy", "m", "1", "--reason", "first release", "--as", "alice"]);
    expect(out).toMatch(/^deploy of 'm' recorded as event \S+ by alice: first release$/m);
    expect(out).toMatch(/^ {2}primary v1$/m);
    expect(out).toMatch(/^ {2}canary {2}none$/m);
    const [latest] = await deployments();
    expect(latest).toMatchObject({ action: "deploy", version: "1", actor: "alice", reason: "first release" });
  });

  it("deploy --role canary --percent 20 puts v2 beside it", async () => {
    const out = await ok(["deploy", "m", "v2", "--role", "canary", "--percent", "20", "--reason", "try v2 on a fifth", "--as", "alice"]);
    expect(out).toMatch(/^ {2}primary v1$/m);
    expect(out).toMatch(/^ {2}canary {2}v2 at 20%$/m);
    expect(out).toMatch(/^ {2}shadow {2}none$/m);
  });

  it("split --canary 50 changes the share; without --reason the default names the user", async () => {
    const out = await ok(["split", "m", "--canary", "50", "--as", "bob"]);
    expect(out).toMatch(/by bob: split by bob with mlwatch split$/m);
    expect(out).toMatch(/^ {2}canary {2}v2 at 50%$/m);
    const [latest] = await deployments();
    expect(latest).toMatchObject({ action: "set_split", actor: "bob", reason: "split by bob with mlwatch split" });
  });

  it("promote makes the canary the primary; the old one becomes the rollback target", async () => {
    const out = await ok(["promote", "m", "--reason", "v2 held at 50%", "--as", "carol"]);
    expect(out).toMatch(/^ {2}primary v2 \(previous v1\)$/m);
    expect(out).toMatch(/^ {2}canary {2}none$/m);
  });

  it("rollback goes back to the previous primary", async () => {
    const out = await ok(["rollback", "m", "--reason", "v2 regressed on late payers", "--as", "carol"]);
    expect(out).toMatch(/^ {2}primary v1 \(previous v2\)$/m);
  });

  it("traffic prints the state and the recent events, newest first, with actor and reason", async () => {
    const out = await ok(["traffic", "m"]);
    expect(out).toMatch(/^ {2}primary v1 \(previous v2\)$/m);
    const rows = eventTable(out);
    expect(rows.map((r) => r.action)).toEqual(["rollback", "promote", "set_split", "deploy", "deploy", "register", "register"]);
    expect(rows.map((r) => r.version)).toEqual(["1", "2", "", "2", "1", "2", "1"]);
    expect(rows.map((r) => r.actor)).toEqual(["carol", "carol", "bob", "alice", "alice", "cli", "cli"]);
    expect(rows[0]!.reason).toBe("v2 regressed on late payers");
    expect(rows[4]!.reason).toBe("first release");
    for (const r of rows) expect(Date.parse(r.time!)).toBeGreaterThan(Date.now() - 600_000);
    expect((await ok(["traffic", "m", "--limit", "2"])).split("\n\n")[1]!.trim().split("\n")).toHaveLength(3);

    // The same audited events the admin API records, with the state each one produced.
    const events = (await deployments()).filter((e) => e.action !== "register");
    expect(events.map((e) => [e.action, e.actor, e.reason])).toEqual([
      ["rollback", "carol", "v2 regressed on late payers"],
      ["promote", "carol", "v2 held at 50%"],
      ["set_split", "bob", "split by bob with mlwatch split"],
      ["deploy", "alice", "try v2 on a fifth"],
      ["deploy", "alice", "first release"],
    ]);
    expect(events[3]!.state).toEqual({ primary: "1", previous: null, canary: { version: "2", percent: 20 }, shadow: null });
  });
});

describe("errors are one line", () => {
  const oneLine = (r: Run) => {
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
  };

  it("the admin API's refusal: its reason, exit 1", async () => {
    const already = await verb(["promote", "m", "1", "--reason", "again"]);
    expect(already.code).toBe(1);
    oneLine(already);
    expect(already.stderr).toMatch(/^mlwatch promote: the inference admin API answered 400 invalid_change: version 1 is already primary/);

    const unknown = await verb(["deploy", "m", "9", "--reason", "x"]);
    expect(unknown.code).toBe(1);
    oneLine(unknown);
    expect(unknown.stderr).toMatch(/404 .*unknown version '9' of model 'm'/);

    const model = await verb(["traffic", "nope"]);
    expect(model.code).toBe(1);
    oneLine(model);
    expect(model.stderr).toMatch(/404 .*unknown model 'nope'/);

    const noCanary = await verb(["split", "m", "--canary", "10"]);
    expect(noCanary.code).toBe(1);
    expect(noCanary.stderr).toMatch(/no canary version to split traffic with/);
  });

  it("without the admin token: 401 with what to set, exit 1", async () => {
    const r = await cli(["deploy", "m", "2", "--reason", "x"], { MLWATCH_INFERENCE_URL: url, MLWATCH_ADMIN_TOKEN: "" });
    expect(r.code).toBe(1);
    oneLine(r);
    expect(r.stderr).toMatch(/401 unauthorized: missing bearer token \(set MLWATCH_ADMIN_TOKEN/);
  });

  it("a serve that does not answer: the URL, exit 1", async () => {
    const port = await closedPort();
    for (const args of [["traffic", "m"], ["deploy", "m", "2", "--reason", "x"]]) {
      const r = await cli(args, { MLWATCH_INFERENCE_URL: `http://127.0.0.1:${port}`, MLWATCH_ADMIN_TOKEN: TOKEN });
      expect(r.code).toBe(1);
      oneLine(r);
      expect(r.stderr).toMatch(new RegExp(`mlwatch serve does not answer at http://127\\.0\\.0\\.1:${port} .*ECONNREFUSED`));
    }
    // Without MLWATCH_INFERENCE_URL it is MLWATCH_PORT on loopback.
    const r = await cli(["traffic", "m"], { MLWATCH_PORT: String(port), MLWATCH_INFERENCE_URL: "" });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`at http://127\\.0\\.0\\.1:${port} `));
  });

  it("bad arguments: a usage error, exit 2, before any request", async () => {
    const cases: [string[], RegExp][] = [
      [["deploy", "m"], /deploy needs <model> <version>/],
      [["deploy", "m", "1", "2"], /unexpected '2'/],
      [["deploy", "m", "1", "--role", "blue"], /--role must be primary, canary or shadow/],
      [["deploy", "m", "1", "--percent", "10"], /--percent applies to a canary or a shadow/],
      [["deploy", "m", "1", "--role", "canary", "--percent", "101"], /--percent must be a percentage from 0 to 100/],
      [["deploy", "m", "1", "--prcent", "10"], /did you mean --percent\?/],
      [["promote"], /promote needs <model> \[version\]/],
      [["rollback", "m", "1", "2"], /unexpected '2'/],
      [["split", "m"], /split needs --canary P, --shadow P or both/],
      [["split", "m", "--canary", "half"], /--canary must be a percentage/],
      [["traffic"], /traffic needs <model>/],
      [["traffic", "m", "--limit", "0"], /--limit must be a whole number/],
      [["promote", "m", "--reason", ""], /--reason must not be empty/],
    ];
    // Pointed at nothing: a usage error must not depend on reaching serve.
    const port = await closedPort();
    // One at a time: the machine is shared.
    for (const [args, message] of cases) {
      const r = await cli(args, { MLWATCH_INFERENCE_URL: `http://127.0.0.1:${port}` });
      expect(r.code, args.join(" ")).toBe(2);
      oneLine(r);
      expect(r.stderr).toMatch(message);
    }
  });

  it("--help describes each verb and where it connects", async () => {
    for (const name of ["deploy", "promote", "rollback", "split", "traffic"]) {
      const r = await cli([name, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: mlwatch ${name} <model>`));
      expect(r.stdout).toMatch(/MLWATCH_INFERENCE_URL/);
      expect(r.stdout).toMatch(/MLWATCH_ADMIN_TOKEN/);
    }
  });
});
