import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { listModelsOverview } from "../../analysis/index.ts";
import type { ToolDeps } from "../deps.ts";
import { describeState } from "../proposal-view.ts";
import { readOnly, registerToolSpec } from "../tool-kit.ts";
import { pct } from "../../format.ts";

export function registerListModelsTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "list_models",
    title: "List models",
    description:
      "Every registered model with its versions (kind, lifecycle status, held-out accuracy at training), which versions serve " +
      "(primary, canary, shadow with their shares) and the last hour's prediction and error counts. Start here to learn the names other tools take.",
    input: z.object({}).strict(),
    output: z.looseObject({
      models: z.array(
        z.looseObject({
          model: z.string(),
          versions: z.array(z.looseObject({ version: z.string(), status: z.string() })),
          production: z.string().nullable(),
          lastHour: z.looseObject({ rows: z.number(), errors: z.number() }),
        }),
      ),
    }),
    annotations: readOnly,
    async run() {
      const overview = await listModelsOverview(deps.store, deps.clock());
      const lines = overview.models.map(
        (m) =>
          `${m.model}: ${m.versions.length} version(s), ${describeState(m.traffic)}; last hour ${m.lastHour.rows} predictions, ` +
          `${m.lastHour.errors} errors${m.lastHour.rows ? ` (${pct(m.lastHour.errors / m.lastHour.rows)})` : ""}`,
      );
      return { summary: lines.length ? `${lines.length} model(s):\n${lines.join("\n")}` : "No model is registered yet.", data: overview };
    },
  });
}
