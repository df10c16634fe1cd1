import type { Command } from "../command.ts";
import { CommandError, parse, UsageError } from "../command.ts";
import { loadAgentConfig } from "../../agent/configuration.ts";
import { renderRequest } from "../../agent/chat.ts";
import { resumeDecided } from "../../agent/decisions.ts";
import type { ApprovalRequest } from "../../agent/nodes/approve.ts";
import { openAgent, type Agent } from "../../agent/runtime.ts";

const usage = `usage: mlwatch agent [--model m] [--once] [--interval s]

Watches models on a schedule: for every model list_models returns (or --model's), checks accuracy
(realized, or CBPE's estimate while labels lag), drift and health against the SLOs through the MCP
server at MLWATCH_URL (default http://127.0.0.1:$MLWATCH_PORT/mcp, token MLWATCH_MCP_TOKEN).
A healthy model prints nothing. A breach is investigated and diagnosed; a remedy is proposed and
waits for a person: in \`mlwatch chat\`, or with \`mlwatch approve <proposal>\` (or the console), which
the next round picks up: it reads each waiting proposal's status from the server and resumes the
run with the person's decision (apply and verify, or close without acting). Runs are checkpointed
in $MLWATCH_DATA_DIR/agent-checkpoints.sqlite, so a run waiting for approval survives a restart.

  --model m       watch one model
  --once          one round, then exit
  --interval s    seconds between rounds (default MLWATCH_AGENT_INTERVAL_S, 300)`;

export const agentCommand: Command = {
  name: "agent",
  summary: "watch models on a schedule, diagnose breaches and propose fixes for a person to approve",
  usage,
  async run(argv) {
    const { values } = parse(argv, { model: { type: "string" }, once: { type: "boolean", default: false }, interval: { type: "string" } });
    const config = loadAgentConfig();
    const interval = values.interval === undefined ? config.intervalSeconds : Number(values.interval);
    if (!(interval > 0)) throw new UsageError(`--interval must be a positive number of seconds, got '${values.interval}'`);
    const agent = await openAgent(config).catch((err: unknown) => {
      throw new CommandError(`cannot reach the MCP server at ${config.mcp.url}: ${err instanceof Error ? err.message : String(err)} (is \`mlwatch serve\` running?)`);
    });
    try {
      await round(agent, values.model);
      if (values.once) return;
      await new Promise<void>((resolve) => {
        let busy = false;
        const timer = setInterval(() => {
          if (busy) return;
          busy = true;
          round(agent, values.model).finally(() => (busy = false));
        }, interval * 1000);
        const stop = () => {
          clearInterval(timer);
          resolve();
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    } finally {
      await agent.close();
    }
  },
};

/**
 * One pass: first the runs whose proposal a person decided since (\`mlwatch approve\`, the console),
 * then the models. Healthy models are silent; summaries print from the graph's summarize node. A
 * model whose run was just resumed is looked at again next round, not on the window it was judged on.
 */
async function round(agent: Agent, only: string | undefined): Promise<void> {
  const resumed = new Set<string>();
  try {
    const picked = await resumeDecided(agent.runner, agent.tools, { ...(only ? { model: only } : {}), say: (line) => console.log(line), warn: (line) => console.error(`mlwatch agent: ${line}`) });
    for (const p of picked) {
      resumed.add(p.model);
      // An edit made another proposal: the run waits on it now.
      if (p.outcome.awaiting) console.log(decideHint(p.outcome.awaiting));
    }
  } catch (err) {
    console.error(`mlwatch agent: reading the decisions on waiting proposals failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const models = only ? [only] : (await agent.tools.listModels()).models.map((m) => m.model);
  for (const model of models) {
    if (resumed.has(model)) continue;
    try {
      const r = await agent.runner.start(model);
      if (r.awaiting && !r.deduplicated) console.log(decideHint(r.awaiting));
    } catch (err) {
      console.error(`mlwatch agent: ${model}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

function decideHint(request: ApprovalRequest): string {
  return `${renderRequest(request)}\n→ decide in \`mlwatch chat\`, or \`mlwatch approve ${request.proposalId}\` (picked up at the next round)`;
}
