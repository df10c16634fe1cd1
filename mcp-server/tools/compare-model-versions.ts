import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { compareVersions, type SideStats } from "../../analysis/index.ts";
import type { ToolDeps } from "../deps.ts";
import { readOnly, registerToolSpec } from "../tool-kit.ts";
import { anchored, windowArg } from "../windows.ts";
import { pct } from "../../format.ts";

export function registerCompareModelVersionsTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "compare_model_versions",
    title: "Compare two versions",
    description:
      "Which of two versions of a model is better on live traffic: accuracy with intervals, error rate and latency for each, and a " +
      "significance test. mode 'window' compares what each version served in the window (two-proportion z-test); mode 'shadow' " +
      "compares the two on the very same requests, one shadowing the other (McNemar), which is the fairer test when a shadow runs. " +
      "`better` names the winner only when the difference is significant.",
    input: z
      .object({
        model: z.string().min(1).max(64),
        versionA: z.string().min(1).max(64),
        versionB: z.string().min(1).max(64),
        window: windowArg,
        mode: z.enum(["window", "shadow"]).optional().describe("Default 'window'."),
      })
      .strict(),
    output: z.looseObject({
      model: z.string(),
      mode: z.enum(["window", "shadow"]),
      a: z.looseObject({ version: z.string(), accuracy: z.number().nullable() }),
      b: z.looseObject({ version: z.string(), accuracy: z.number().nullable() }),
      better: z.string().nullable(),
      verdict: z.string(),
    }),
    annotations: readOnly,
    async run({ model, versionA, versionB, window, mode }) {
      const c = await compareVersions(deps.store, { model, versionA, versionB, window: anchored(window, deps.clock()), mode });
      const side = (s: SideStats) => `v${s.version}: accuracy ${pct(s.accuracy)} on ${s.labelled} labelled, ${s.rows} rows, errors ${pct(s.errorRate)}`;
      const summary = [
        `'${c.model}' v${c.a.version} vs v${c.b.version} (${c.mode} mode, ${c.window.from} – ${c.window.to}): ${c.verdict}.`,
        `${side(c.a)}; ${side(c.b)}.`,
        c.better ? `Better: v${c.better}.` : "Neither is significantly better.",
      ].join("\n");
      return { summary, data: c };
    },
  });
}
