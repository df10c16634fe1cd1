import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { pino } from "pino";
import { startInferenceService, type InferenceService } from "../inference/service.ts";
import { registerMcpHttp } from "../mcp-server/transports/http.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

const run = promisify(execFile);
let t: TempStore;
let svc: InferenceService;

beforeAll(async () => {
  t = await tempStore({ MLWATCH_PORT: "0", MLWATCH_HOST: "127.0.0.1" });
  svc = await startInferenceService({
    config: t.config,
    store: t.store,
    logger: pino({ level: "silent" }),
    extend: (app) => registerMcpHttp(app, { deps: { store: t.store, config: t.config, adminToken: undefined, actionsEnabled: false }, mcpToken: undefined, approverToken: undefined, allowedOrigins: [] }),
  });
});

afterAll(async () => {
  await svc?.close();
  await t?.cleanup();
});

/**
 * The MCP conformance suite's server scenarios against our Streamable HTTP endpoint. Scenarios that
 * need the suite's own fixture tools, resources or client features are listed, each with its reason,
 * in the baseline; the tool fails on any other failure and on a baseline entry that starts passing.
 */
it("passes the MCP conformance server scenarios that apply, with every expected failure explained", async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-conformance-"));
  const cli = path.resolve("node_modules/@modelcontextprotocol/conformance/dist/index.js");
  // The suite's bundle imports a Node 22 fs function; see the hook for why it is safe on Node 20.
  const NODE20_FS = path.resolve("test/helpers/node20-fs-globsync.mjs");
  try {
    const { stdout } = await run("node", ["--import", NODE20_FS, cli, "server", "--url", `${svc.url}/mcp`, "--expected-failures", "test/fixtures/mcp-conformance-baseline.yml", "-o", out], {
      maxBuffer: 16 * 1024 * 1024,
      timeout: 240_000,
    });
    expect(stdout).toMatch(/server-initialize/);
    expect(stdout).toMatch(/Baseline check passed: all failures are expected/);
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`conformance run failed:\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}, 300_000);
