import os from "node:os";
import readline from "node:readline";
import type { Command } from "../command.ts";
import { CommandError, parse } from "../command.ts";
import { ChatSession, CHAT_HELP } from "../../agent/chat.ts";
import { loadAgentConfig } from "../../agent/configuration.ts";
import { openAgent } from "../../agent/runtime.ts";
import { connectMcp } from "../../agent/tools.ts";

const usage = `usage: mlwatch chat [--as name]

A terminal conversation with the agent: shows the proposals waiting for you with their evidence,
takes your decision and resumes the run, answers questions by calling the MCP server's tools.
Approving needs a person's token, MLWATCH_APPROVER_TOKEN; without it the chat is read-only.
With OLLAMA_HOST set, free questions go to the local model (MLWATCH_OLLAMA_MODEL), which answers
through the same read-only tools.

  --as name    who you are in the approval record (default $USER)

${CHAT_HELP}`;

export const chatCommand: Command = {
  name: "chat",
  summary: "review and approve the agent's proposals, ask about models",
  usage,
  async run(argv) {
    const { values } = parse(argv, { as: { type: "string" } });
    const config = loadAgentConfig();
    const unreachable = (err: unknown) => {
      throw new CommandError(`cannot reach the MCP server at ${config.mcp.url}: ${err instanceof Error ? err.message : String(err)} (is \`mlwatch serve\` running?)`);
    };
    // The session prints each resumed run's summary itself; the graph's own print would repeat it.
    const agent = await openAgent(config, { print: () => {} }).catch(unreachable);
    const approver = config.mcp.approverToken ? await connectMcp({ url: config.mcp.url, token: config.mcp.approverToken }, "mlwatch-chat").catch(unreachable) : undefined;
    const rl = readline.createInterface({ input: process.stdin, output: process.stdout, prompt: "mlwatch> " });
    const print = (text: string) => {
      process.stdout.write(`\n${text}\n`);
      rl.prompt(true);
    };
    const session = new ChatSession({
      runner: agent.runner,
      tools: agent.tools,
      approver,
      user: values.as ?? process.env.USER ?? os.userInfo().username,
      ollama: config.ollama.host ? { host: config.ollama.host, model: config.ollama.model } : undefined,
      print,
    });
    try {
      console.log(await session.greeting());
      rl.prompt();
      for await (const line of rl) {
        if (/^\s*(quit|exit)\s*$/.test(line)) break;
        const answer = await session.handle(line);
        if (answer) console.log(answer);
        rl.prompt();
      }
      rl.close();
      if (session.running > 0) console.log(`waiting for ${session.running} resumed run(s) to finish verifying (Ctrl-C leaves them; \`continue <incident>\` picks them up later)`);
      await session.idle();
    } finally {
      await approver?.close();
      await agent.close();
    }
  },
};
