// Loaded with `node --import` before the MCP conformance CLI. Its bundle imports `globSync` from
// node:fs, which Node 22 added; on Node 20 the import alone fails to link, although only the
// tier-check command calls it. This gives the suite's modules a node:fs that has the name, and
// fails loudly if anything ever calls it. Modules outside the suite see node:fs unchanged.
import { register } from "node:module";
import { isMainThread } from "node:worker_threads";

const SUITE = "/node_modules/@modelcontextprotocol/conformance/";
const FS_WITH_GLOBSYNC =
  "data:text/javascript," +
  encodeURIComponent('export * from "node:fs"; export function globSync() { throw new Error("fs.globSync needs Node 22"); }');

export async function resolve(specifier, context, next) {
  if ((specifier === "fs" || specifier === "node:fs") && context.parentURL?.includes(SUITE)) return { url: FS_WITH_GLOBSYNC, shortCircuit: true };
  return next(specifier, context);
}

// `--import` runs this in the main thread, which installs it as the resolve hook; the hooks thread
// that loads it again only needs `resolve`.
if (isMainThread) register(import.meta.url);
