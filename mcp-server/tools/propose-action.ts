import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { propose } from "../actions.ts";
import type { ToolDeps } from "../deps.ts";
import { proposalViewSchema, viewProposal } from "../proposal-view.ts";
import { proposalActions } from "../../rollout/proposals.ts";
import { banditPolicies } from "../../store/deployments.ts";
import { registerToolSpec } from "../tool-kit.ts";
import { windowSchema } from "../../analysis/index.ts";
import { anchored } from "../windows.ts";

const percent = z.number().min(0).max(100);

export function registerProposeActionTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "propose_action",
    title: "Propose a remediation",
    description:
      "Records a proposed change for a person to approve; it changes nothing by itself. Returns the proposal id, the exact effect " +
      "(current traffic state → resulting state), the traffic event it is based on and when it expires. Actions: " +
      "'rollback' (end a running canary, or make `version` / the previous version primary), 'promote' (make `version`, or the canary/shadow, primary), " +
      "'set_traffic_split' (change canaryPercent and/or shadowPercent of the current canary/shadow), 'retrain' (train a new version on the " +
      "labelled traffic of `window`, default the last 24 h, keeping the primary's schema; it is registered as staging and serves nothing until a later proposal deploys it), " +
      "'start_bandit' (share the served traffic among `versions` by their reward on labelled traffic, each keeping floorPercent; the primary waits as the fallback), 'stop_bandit' (the primary answers everything again). " +
      "State the evidence in `reason` (metrics, windows, tool results): the approver reads it. After a person approves, call apply_action.",
    input: z
      .object({
        model: z.string().min(1).max(64).describe("Model name."),
        action: z.enum(proposalActions),
        version: z.string().min(1).max(64).optional().describe("Target version for rollback or promote; omit for the default target."),
        canaryPercent: percent.optional().describe("set_traffic_split only: new share of requests answered by the canary (0–100)."),
        shadowPercent: percent.optional().describe("set_traffic_split only: new share of requests mirrored to the shadow (0–100)."),
        window: windowSchema.optional().describe("retrain only: the labelled traffic to learn from, e.g. only what came after a drift (default the last 24 h)."),
        versions: z.array(z.string().min(1).max(64)).min(1).max(16).optional().describe("start_bandit only: the arms, at least two distinct registered versions."),
        policy: z.enum(banditPolicies).optional().describe("start_bandit only: thompson (default) or ucb."),
        floorPercent: z.number().min(0).max(50).optional().describe("start_bandit only: share every arm keeps (default 10)."),
        latencyPenaltyPerMs: z.number().min(0).max(1).optional().describe("start_bandit only: reward lost per millisecond of latency (default 0)."),
        seed: z.number().int().optional().describe("start_bandit only: seed of the Thompson draws (default 1)."),
        reason: z.string().min(1).max(2000).describe("Why, with the evidence; shown to the person who approves."),
      })
      .strict(),
    output: proposalViewSchema.extend({ next_step: z.string() }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    async run({ window, versions, policy, floorPercent, latencyPenaltyPerMs, seed, ...args }) {
      const now = deps.clock();
      const banditArgs = { versions, policy, floorPercent, latencyPenaltyPerMs, seed };
      const bandit = Object.values(banditArgs).some((v) => v !== undefined) ? banditArgs : undefined;
      const p = await propose(deps.store, { ...args, bandit, window: window ? anchored(window, now) : undefined }, deps.principal.name, now, deps.proposalTtlSeconds);
      const view = viewProposal(p, now);
      const nextStep = `A person must approve it (\`mlwatch approve ${p.id}\`) before apply_action can apply it; it expires at ${view.expires_at}.`;
      return {
        summary: `Proposed ${p.action} of '${p.model}' as ${p.id} (pending approval): ${view.effect}. Based on event ${p.baseEventId || "(none)"}. ${nextStep}`,
        data: { ...view, next_step: nextStep },
      };
    },
  });
}
