import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { listIncidents } from "../../incidents/incident-store.ts";
import type { ToolDeps } from "../deps.ts";
import { cursorArg, decodeCursor, encodeCursor, fitRows, rowBudget, rowLimit } from "../limits.ts";
import { readOnly, registerToolSpec } from "../tool-kit.ts";

const listingSchema = z.object({
  incidentId: z.string(),
  model: z.string(),
  status: z.string(),
  summary: z.string(),
  openedAt: z.string(),
  closedAt: z.string().nullable(),
  pendingProposalId: z.string().nullable(),
  updatedAt: z.string(),
});

export function registerListIncidentsTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "list_incidents",
    title: "List incidents",
    description:
      "The agent's incidents newest first, each with its status, one-line summary and the proposal it waits on a person for; " +
      "optionally for one model, and only open (still running or waiting) or only closed ones. get_incident gives one in full.",
    input: z
      .object({
        model: z.string().min(1).max(64).optional(),
        open: z.boolean().optional().describe("true: runs not ended yet; false: ended ones; omit for both."),
        limit: rowLimit(deps.limits),
        cursor: cursorArg,
      })
      .strict(),
    output: z.object({ incidents: z.array(listingSchema), truncated: z.boolean(), next_cursor: z.string().nullable() }),
    annotations: readOnly,
    async run({ model, open, limit, cursor }) {
      const offset = cursor ? decodeCursor(cursor, z.object({ offset: z.number().int().min(0) })).offset : 0;
      const want = limit ?? deps.limits.defaultRows;
      const found = await listIncidents(deps.store, { model, open, limit: want + 1, offset });
      const fitted = fitRows(found.slice(0, want), rowBudget(deps.limits));
      const more = fitted.trimmed || found.length > want;
      const waiting = fitted.rows.filter((i) => i.pendingProposalId).length;
      return {
        summary: fitted.rows.length === 0 ? "No incidents match." : `${fitted.rows.length} incident(s), ${waiting} waiting for a person${more ? "; more with next_cursor" : ""}.`,
        data: { incidents: fitted.rows, truncated: more, next_cursor: more ? encodeCursor({ offset: offset + fitted.rows.length }) : null },
      };
    },
  });
}
