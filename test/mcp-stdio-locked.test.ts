import fs from "node:fs";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { mcpClient, StdioTransport } from "../agent/mcp-client.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";
import { closedPort } from "./helpers/ports.ts";

// `mlwatch mcp` on a store another process holds (chdb admits one per data directory), with no
// serve to bridge to: the client's era probe, then its initialize, get an error naming the cause,
// and when the client hangs up the process ends with one line of its own, not an unhandled ECONNRESET.

const root = path.resolve(import.meta.dirname, "..");
let t: TempStore | undefined;

afterAll(async () => {
  await t?.store.close();
  if (t) fs.rmSync(t.dir, { recursive: true, force: true });
});

it("answers the probe and initialize with the store's lock as the reason and exits 1 cleanly", async () => {
  t = await tempStore(); // this test process holds the store
  let stderr = "";
  const transport = new StdioTransport({
    command: process.execPath,
    args: ["bin/mlwatch.js", "mcp"],
    cwd: root,
    env: { PATH: process.env.PATH ?? "", MLWATCH_DATA_DIR: t.dir, MLWATCH_URL: `http://127.0.0.1:${await closedPort()}/mcp`, MLWATCH_MCP_ACTIONS: "1" },
    stderr: "pipe",
  });
  transport.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => (transport.onclose = () => resolve()));
  const client = mcpClient("mcp-stdio-locked-test");
  await expect(client.connect(transport)).rejects.toThrow(/mlwatch mcp: the embedded store at .* is in use by another process/);
  await exited;
  expect(stderr).not.toMatch(/ECONNRESET|EPIPE|Unhandled|node:internal/);
  expect(stderr.trim().split("\n").at(-1)).toMatch(/^mlwatch mcp: the process serving the store exited with code 1$/);
}, 120_000);
