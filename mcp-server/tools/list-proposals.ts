import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import type { ToolDeps } from "../deps.ts";
import type { ProposalList } from "../results.ts";
import { cursorArg, decodeCursor, encodeCursor, fitRows, rowBudget, rowLimit } from "../limits.ts";
import { proposalViewSchema, viewProposal } from "../proposal-view.ts";
import { listProposals, proposalStatuses } from "../../rollout/proposals.ts";
import { readOnly, registerToolSpec } from "../tool-kit.ts";

export function registerListProposalsTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "list_proposals",
    title: "List proposals",
    description: "Proposals newest first, optionally for one model and/or one status (e.g. 'pending' to see what awaits a person).",
    input: z
      .object({
        model: z.string().min(1).max(64).optional(),
        status: z.enum(proposalStatuses).optional(),
        limit: rowLimit(deps.limits),
        cursor: cursorArg,
      })
      .strict(),
    output: z.object({ proposals: z.array(proposalViewSchema), truncated: z.boolean(), next_cursor: z.string().nullable() }),
    annotations: readOnly,
    async run({ model, status, limit, cursor }): Promise<{ summary: string; data: ProposalList }> {
      const now = deps.clock();
      const offset = cursor ? decodeCursor(cursor, z.object({ offset: z.number().int().min(0) })).offset : 0;
      const want = limit ?? deps.limits.defaultRows;
      const found = await listProposals(deps.store, { model, status, nowUs: now, limit: want + 1, offset });
      const fitted = fitRows(found.slice(0, want).map((p) => viewProposal(p, now)), rowBudget(deps.limits));
      const more = fitted.trimmed || found.length > want;
      const counts = new Map<string, number>();
      for (const p of fitted.rows) counts.set(p.status, (counts.get(p.status) ?? 0) + 1);
      const byStatus = [...counts].map(([s, n]) => `${n} ${s}`).join(", ");
      return {
        summary: fitted.rows.length === 0 ? "No proposals match." : `${fitted.rows.length} proposal(s): ${byStatus}${more ? "; more with next_cursor" : ""}.`,
        data: { proposals: fitted.rows, truncated: more, next_cursor: more ? encodeCursor({ offset: offset + fitted.rows.length }) : null },
      };
    },
  });
}
