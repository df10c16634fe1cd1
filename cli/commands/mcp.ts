import type { Command } from "../command.ts";
import { parse } from "../command.ts";
import { runMcpHttp } from "../../mcp-server/run-http.ts";
import { runMcpStdio } from "../../mcp-server/run-stdio.ts";

const usage = `usage: mlwatch mcp [--http]

An MCP server on stdin/stdout, for Claude Desktop, the MCP Inspector or any MCP client that spawns
its servers. When \`mlwatch serve\` is running (MLWATCH_URL, default http://127.0.0.1:$MLWATCH_PORT/mcp)
it bridges to that process's MCP endpoint, which owns the store; otherwise it opens the store itself.
Actions (propose/apply) need MLWATCH_MCP_ACTIONS=1; approving is never possible over stdio.
Everything it says for people goes to stderr: stdout is the protocol.

--http   the Streamable HTTP endpoint /mcp on its own, on MLWATCH_HOST:MLWATCH_PORT, without
         inference: for server mode (CLICKHOUSE_URL), where it may run apart from the inference
         replicas (it applies actions through MLWATCH_INFERENCE_URL). In embedded mode
         \`mlwatch serve\` already hosts /mcp in the process that owns the store.`;

export const mcpCommand: Command = {
  name: "mcp",
  summary: "MCP server on stdio (Claude Desktop), bridging to a running serve; --http: the HTTP endpoint alone",
  usage,
  async run(argv) {
    const { values } = parse(argv, { http: { type: "boolean" } });
    if (values.http) await runMcpHttp();
    else await runMcpStdio();
  },
};
