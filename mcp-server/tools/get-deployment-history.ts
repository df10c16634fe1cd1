import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { deploymentHistory, trafficStateSchema } from "../../store/deployments.ts";
import { iso } from "../../format.ts";
import { assertKnownModel } from "../models.ts";
import type { ToolDeps } from "../deps.ts";
import { cursorArg, decodeCursor, encodeCursor, fitRows, rowBudget, rowLimit } from "../limits.ts";
import { readOnly, registerToolSpec } from "../tool-kit.ts";

const eventSchema = z.object({
  event_id: z.string(),
  ts: z.string(),
  action: z.string(),
  version: z.string(),
  previous_version: z.string(),
  state: trafficStateSchema.nullable(),
  actor: z.string(),
  reason: z.string(),
  proposal_id: z.string(),
  approval_id: z.string(),
  auto_approved: z.boolean(),
});

export const deploymentHistorySchema = z.object({
  model: z.string(),
  events: z.array(eventSchema),
  truncated: z.boolean().describe("More events exist than were returned; pass next_cursor for the next page."),
  next_cursor: z.string().nullable(),
  note: z.string().optional(),
});

export function registerGetDeploymentHistoryTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "get_deployment_history",
    title: "Deployment history",
    description:
      "The audit log of one model, newest first: registrations, deploys, promotions, rollbacks, traffic splits, automatic " +
      "rollbacks, and every proposal, approval, rejection and failed apply (with proposal_id / approval_id). Events that change " +
      "traffic carry the whole resulting traffic state. Use it to learn what changed right before a problem started.",
    input: z
      .object({
        model: z.string().min(1).max(64).describe("Model name, as list_models shows it."),
        limit: rowLimit(deps.limits),
        cursor: cursorArg,
      })
      .strict(),
    output: deploymentHistorySchema,
    annotations: readOnly,
    async run({ model, limit, cursor }) {
      await assertKnownModel(deps.store, model);
      const offset = cursor ? decodeCursor(cursor, z.object({ offset: z.number().int().min(0) })).offset : 0;
      const want = limit ?? deps.limits.defaultRows;
      const all = await deploymentHistory(deps.store, model, offset + want + 1);
      const page = all.slice(offset, offset + want).map((e) => ({
        event_id: e.eventId,
        ts: iso(e.ts),
        action: e.action,
        version: e.version,
        previous_version: e.previousVersion,
        state: e.state,
        actor: e.actor,
        reason: e.reason,
        proposal_id: e.proposalId,
        approval_id: e.approvalId,
        auto_approved: e.autoApproved,
      }));
      const fitted = fitRows(page, rowBudget(deps.limits));
      const more = fitted.trimmed || all.length > offset + want;
      const events = fitted.rows;
      const latest = events[0];
      const summary =
        events.length === 0
          ? `No deployment events for '${model}'${offset ? " on this page" : ""}.`
          : `${events.length} event(s) for '${model}', newest ${latest!.ts}: ${latest!.action}${latest!.version ? ` v${latest!.version}` : ""} by ${latest!.actor}` +
            `${more ? "; more with next_cursor" : ""}.`;
      return {
        summary,
        data: {
          model,
          events,
          truncated: more,
          next_cursor: more ? encodeCursor({ offset: offset + events.length }) : null,
          ...(fitted.trimmed ? { note: `trimmed to ${events.length} events to stay under the response size limit` } : {}),
        },
      };
    },
  });
}
