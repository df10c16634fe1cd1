#!/usr/bin/env node
// Runs the TypeScript CLI directly: no build step between a change and `mlwatch`.
import { spawnSync } from "node:child_process";
import { register } from "tsx/esm/api";

// Embedded ClickHouse (chdb) reads fd 0 during INSERTs (chdb-io/chdb-core#239): bytes waiting on a
// piped stdin make inserts fail. Commands that do not read stdin run with it detached; `mcp` keeps
// the protocol on stdin and isolates the store in a child of its own, `chat` talks over HTTP.
const command = process.argv[2];
const readsStdin = (command === "mcp" && !process.argv.includes("--http")) || command === "chat";
if (!process.stdin.isTTY && !readsStdin && !process.env.MLWATCH_STDIN_DETACHED) {
  const child = spawnSync(process.execPath, process.argv.slice(1), {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, MLWATCH_STDIN_DETACHED: "1" },
  });
  process.exit(child.status ?? 1);
}

register();
await import("../cli/main.ts");
