import http from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { openEngine } from "./engine.ts";
import { createHandler } from "./http.ts";

// The stand-in as its own process (chDB admits one process per data directory, and the processes
// under test must reach it over a real socket): `--data <dir> [--port N] [--password P]`.
// stdin must not be a pipe: chDB reads fd 0 during inserts (chdb-io/chdb-core#239).
const { values } = parseArgs({ options: { data: { type: "string" }, port: { type: "string", default: "0" }, password: { type: "string", default: "" } } });
if (!values.data) throw new Error("--data <dir> is required");

const engine = openEngine(values.data);
// The client puts every param_* in the URL; ClickHouse admits a request line of up to 1 MiB
// (http_max_uri_size), node only 16 KiB of headers by default.
const server = http.createServer({ maxHeaderSize: 1 << 20 }, createHandler(engine, { user: "default", password: values.password }));
server.keepAliveTimeout = 10_000;
server.listen(Number(values.port), "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`clickhouse stand-in listening on http://127.0.0.1:${port}\n`);
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    void engine.close().then(() => process.exit(0));
  });
}
