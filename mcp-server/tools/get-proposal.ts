import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import type { ToolDeps } from "../deps.ts";
import { proposalViewSchema, viewProposal } from "../proposal-view.ts";
import { getProposal } from "../../rollout/proposals.ts";
import { readOnly, registerToolSpec } from "../tool-kit.ts";

export function registerGetProposalTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "get_proposal",
    title: "Get a proposal",
    description:
      "One proposal with its status (pending, approved, rejected, superseded by a person's edit, expired, applying, applied, failed), who decided and why, its effect " +
      "and, once applied, the traffic event. Poll it after propose_action to learn whether a person approved.",
    input: z.object({ proposal_id: z.string().min(1).max(100) }).strict(),
    output: proposalViewSchema,
    annotations: readOnly,
    async run({ proposal_id }) {
      const now = deps.clock();
      const view = viewProposal(await getProposal(deps.store, proposal_id), now);
      const decided = view.decided_by ? ` by ${view.decided_by}${view.decision_reason ? ` (${view.decision_reason})` : ""}` : "";
      return { summary: `Proposal ${view.proposal_id} (${view.action} of '${view.model}') is ${view.status}${decided}: ${view.effect}.`, data: view };
    },
  });
}
