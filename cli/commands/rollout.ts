import os from "node:os";
import type { Command } from "../command.ts";
import { CommandError, parse, UsageError } from "../command.ts";
import { connectMcp, ToolCallError } from "../../agent/tools.ts";
import { loadMcpConfig } from "../../mcp-server/config.ts";
import type { PlanView } from "../../rollout/plan-view.ts";

const usage = `usage: mlwatch rollout <model|plan-id>
       mlwatch rollout abort <model|plan-id> [--reason TEXT] [--as NAME]

Shows a rollout plan (the one an approved retrain started): each stage, its gate in figures, its
status and latest figures. \`abort\` stops it at its current stage; the server takes the candidate
out of traffic (after promotion, back to the base version) and records who and why. Talks to the
MCP endpoint of the running \`mlwatch serve\` (MLWATCH_URL) with MLWATCH_APPROVER_TOKEN, else
MLWATCH_MCP_TOKEN; the server must run with MLWATCH_MCP_ACTIONS=1 for abort.`;

export const rolloutCommand: Command = {
  name: "rollout",
  summary: "show or abort a rollout plan",
  usage,
  async run(argv) {
    const { values, positionals } = parse(argv, { reason: { type: "string" }, as: { type: "string" } }, true);
    const abort = positionals[0] === "abort";
    const [id, ...extra] = abort ? positionals.slice(1) : positionals;
    if (!id || extra.length) throw new UsageError(abort ? "rollout abort needs one model or plan id" : "rollout needs one model or plan id");
    const mcp = loadMcpConfig();
    const tools = await connectMcp({ url: mcp.serveUrl, token: mcp.approverToken ?? mcp.mcpToken }, "mlwatch-rollout");
    try {
      const plan = (await tools.getRollout({ plan_id: id }).catch(() => null)) ?? (await tools.getRollout({ model: id }));
      if (!abort) return void console.log(render(plan));
      const by = values.as ?? os.userInfo().username;
      const ended = await tools.abortRollout({ plan_id: plan.id, by, reason: values.reason ?? `aborted by ${by} with mlwatch rollout abort` });
      console.log(render(ended));
    } catch (err) {
      if (err instanceof ToolCallError) throw new CommandError(err.message);
      throw err;
    } finally {
      await tools.close();
    }
  },
};

function render(plan: PlanView): string {
  return [
    `plan ${plan.id} of '${plan.model}' (v${plan.baseVersion} → ${plan.candidateVersion ? `v${plan.candidateVersion}` : "candidate not trained yet"}; approved by ${plan.approvedBy}, proposal ${plan.proposalId})`,
    `  ${plan.progress}`,
    ...plan.stages.map((s, i) => `  ${String(i + 1).padStart(2)}. ${s.status.padEnd(7)} ${s.gate}${s.status !== "pending" && s.note ? `\n               ${s.note}` : ""}`),
  ].join("\n");
}
