/**
 * The stdio MCP server as its own entry point: `npx tsx mcp-server/main-stdio.ts` (what `mlwatch mcp`
 * runs, without the CLI around it).
 */
import { runMcpStdio } from "./run-stdio.ts";

try {
  await runMcpStdio();
  process.exit(0);
} catch (err) {
  process.stderr.write(`mlwatch mcp: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
