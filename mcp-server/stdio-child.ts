/**
 * The store-owning half of `mlwatch mcp` in embedded mode, started by run-stdio.ts: MCP on fd 3,
 * stdin on /dev/null. chdb's INSERT polls the host process's fd 0 for external data (chdb-io/chdb-core
 * issue 239): with the MCP client's pipe on fd 0 an INSERT fails with Code 48 whenever a message is
 * pending, and the probe can consume protocol bytes. Here fd 0 holds nothing to find.
 */
import net from "node:net";
import { serveStoreOnStdio } from "./run-stdio.ts";

try {
  const channel = new net.Socket({ fd: 3, readable: true, writable: true });
  await serveStoreOnStdio(channel, channel);
  process.exit(0);
} catch (err) {
  process.stderr.write(`mlwatch mcp: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
