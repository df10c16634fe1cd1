import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { getIncident } from "../../incidents/incident-store.ts";
import { incidentRecordSchema, summaryOf } from "../../incidents/record.ts";
import type { ToolDeps } from "../deps.ts";
import { readOnly, registerToolSpec } from "../tool-kit.ts";

export function registerGetIncidentTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "get_incident",
    title: "Get an incident",
    description:
      "One incident as the agent recorded it: trigger, diagnosis, every piece of evidence with the tool call and figures behind it, " +
      "proposals, decisions (who, when, why), actions, rollout plan, verification and timeline.",
    input: z.object({ incident_id: z.string().min(1).max(200) }).strict(),
    output: incidentRecordSchema,
    annotations: readOnly,
    async run({ incident_id }) {
      const r = await getIncident(deps.store, incident_id);
      return { summary: `Incident ${r.incidentId} of '${r.model}' is ${r.status}: ${summaryOf(r)}.`, data: r };
    },
  });
}
