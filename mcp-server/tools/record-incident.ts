import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { saveIncident } from "../../incidents/incident-store.ts";
import { incidentRecordSchema } from "../../incidents/record.ts";
import type { ToolDeps } from "../deps.ts";
import { assertKnownModel } from "../models.ts";
import { registerToolSpec } from "../tool-kit.ts";

export function registerRecordIncidentTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "record_incident",
    title: "Record an incident",
    description:
      "Writes the agent's incident record as it stands (trigger, diagnosis, evidence with each tool call, proposals, decisions, actions, " +
      "rollout plan, verification, timeline) to the log store, replacing the previous version of the same incident. The agent calls it " +
      "after every step of a run; it changes no traffic. People read the records with list_incidents, get_incident and the console.",
    input: z.object({ incident: incidentRecordSchema }).strict(),
    output: z.object({ incidentId: z.string(), status: z.string(), recordedAt: z.string() }),
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    async run({ incident }) {
      await assertKnownModel(deps.store, incident.model);
      const now = deps.clock();
      await saveIncident(deps.store, incident, deps.principal.name, now);
      const recordedAt = new Date(Math.floor(now / 1000)).toISOString();
      return { summary: `Incident ${incident.incidentId} of '${incident.model}' recorded as ${incident.status}.`, data: { incidentId: incident.incidentId, status: incident.status, recordedAt } };
    },
  });
}
