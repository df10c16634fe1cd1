import type { Command } from "../command.ts";
import { parse, wantsHelp } from "../command.ts";
import { runMcpStdio } from "../../mcp-server/run-stdio.ts";

const usage = `usage: mlwatch mcp

An MCP server on stdin/stdout, for Claude Desktop, the MCP Inspector or any MCP client that spawns
its servers. When \`mlwatch serve\` is running (MLWATCH_URL, default http://127.0.0.1:$MLWATCH_PORT/mcp)
it bridges to that process's MCP endpoint, which owns the store; otherwise it opens the store itself.
Actions (propose/apply) need MLWATCH_MCP_ACTIONS=1; approving is never possible over stdio.
Everything it says for people goes to stderr: stdout is the protocol.`;

export const mcpCommand: Command = {
  name: "mcp",
  summary: "MCP server on stdio (Claude Desktop); bridges to a running serve",
  usage,
  async run(argv) {
    if (wantsHelp(argv)) {
      console.log(usage);
      return;
    }
    parse(argv, {});
    await runMcpStdio();
  },
};
