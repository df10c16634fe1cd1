import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { logFiltersSchema, queryLogs, type LogPage } from "../../analysis/index.ts";
import type { ToolDeps } from "../deps.ts";
import { assertKnownModel } from "../models.ts";
import { fitRows, rowBudget, rowLimit } from "../limits.ts";
import { readOnly, registerToolSpec } from "../tool-kit.ts";
import { anchored, windowArg } from "../windows.ts";

export function registerQueryInferenceLogsTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "query_inference_logs",
    title: "Query the prediction log",
    description:
      "Individual logged predictions with their features, probabilities, label (once known), correctness, latency and error, " +
      "filtered by version, variant, predicted class, label, correctness, confidence range, error, fallback, cache, batch job and feature conditions " +
      "({feature, op: eq|neq|lt|lte|gt|gte, value}); ordered by time, confidence or latency; paged with cursor/nextCursor. " +
      "With groupBy (version, variant, predicted, label, error, fallback, job) it returns counts per value instead of rows. Use it for concrete " +
      "examples: e.g. {correct: false, orderBy: 'confidence'} for confident mistakes, or a drifted feature's range.",
    input: logFiltersSchema.extend({ window: windowArg, limit: rowLimit(deps.limits) }),
    output: z.looseObject({
      model: z.string(),
      rows: z.array(z.looseObject({ requestId: z.string() })),
      groups: z.array(z.object({ key: z.string(), rows: z.number() })).optional(),
      returned: z.number(),
      truncated: z.boolean(),
      nextCursor: z.string().nullable(),
      notes: z.array(z.string()),
    }),
    annotations: readOnly,
    async run(args) {
      await assertKnownModel(deps.store, args.model);
      const filters = { ...args, window: anchored(args.window, deps.clock()), limit: args.limit ?? deps.limits.defaultRows };
      let page = await queryLogs(deps.store, filters);
      let trimmed = false;
      const fitted = fitRows(page.rows, rowBudget(deps.limits));
      if (fitted.trimmed) {
        // Ask again for exactly the rows that fit, so nextCursor continues right after the last one returned.
        page = fitted.rows.length > 0 ? await queryLogs(deps.store, { ...filters, limit: fitted.rows.length }) : { ...page, rows: [], returned: 0, nextCursor: page.nextCursor };
        trimmed = true;
      }
      const notes = trimmed ? [...page.notes, `trimmed to ${page.rows.length} rows to stay under the response size limit; page on with nextCursor`] : page.notes;
      const data = { ...page, truncated: page.truncated || trimmed, notes };
      return { summary: summarize(data), data };
    },
  });
}

function summarize(p: LogPage): string {
  const w = `${p.window.from} – ${p.window.to}`;
  if (p.groups) {
    const total = p.groups.reduce((a, g) => a + g.rows, 0);
    return `'${p.model}', ${total} rows in ${w} by group: ${p.groups.slice(0, 15).map((g) => `${g.key === "" ? "(none)" : g.key} ${g.rows}`).join(", ")}${p.groups.length > 15 ? ", …" : ""}.`;
  }
  if (p.rows.length === 0) return `No logged predictions of '${p.model}' match in ${w}.`;
  const wrong = p.rows.filter((r) => r.correct === false).length;
  const errors = p.rows.filter((r) => r.error).length;
  const labelled = p.rows.filter((r) => r.label !== null).length;
  return (
    `${p.rows.length} logged prediction(s) of '${p.model}' in ${w}: ${labelled} labelled, ${wrong} wrong, ${errors} errors.` +
    `${p.truncated ? " More match: pass nextCursor as cursor for the next page." : ""}${p.notes.length ? ` Notes: ${p.notes.join("; ")}.` : ""}`
  );
}
