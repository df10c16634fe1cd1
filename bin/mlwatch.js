#!/usr/bin/env node
// Runs the TypeScript CLI directly: no build step between a change and `mlwatch`.
import fs from "node:fs";
import { isatty } from "node:tty";
import { register } from "tsx/esm/api";

// Embedded ClickHouse (chdb) reads fd 0 during INSERTs (chdb-io/chdb-core#239): bytes waiting on a
// piped stdin make inserts fail. Commands that do not read stdin get /dev/null as fd 0 instead;
// `mcp` keeps the protocol on stdin and isolates the store in a child of its own, `chat` talks
// over HTTP. Swapping fd 0 in this process (rather than re-running the CLI as a child with stdin
// ignored) keeps one process: signals reach the command itself, and the pid a supervisor holds is
// the one that owns the port and the store lock.
const command = process.argv[2];
const readsStdin = (command === "mcp" && !process.argv.includes("--http")) || command === "chat";
if (!readsStdin && !isatty(0)) detachStdin();

register();
await import("../cli/main.ts");

/**
 * Closing fd 0 and opening /dev/null hands the lowest free descriptor, 0, to /dev/null. Nothing has
 * touched process.stdin yet (isatty does not), so node holds no handle on the old descriptor.
 */
function detachStdin() {
  if (process.platform === "win32") return;
  fs.closeSync(0);
  const fd = fs.openSync("/dev/null", "r");
  if (fd !== 0) throw new Error(`mlwatch: could not put /dev/null on stdin (got fd ${fd})`);
}
