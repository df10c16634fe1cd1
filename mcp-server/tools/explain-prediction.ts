import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { explainPrediction } from "../../analysis/explain.ts";
import type { RequestExplanation } from "../../models/explain/explain-request.ts";
import type { ToolDeps } from "../deps.ts";
import { readOnly, registerToolSpec } from "../tool-kit.ts";
import { pct } from "../../format.ts";

const featureValue = z.union([z.number(), z.string(), z.null()]);

export function registerExplainPredictionTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "explain_prediction",
    title: "Explain a prediction",
    description:
      "Why the model predicted what it did for one row: Shapley feature attributions for a logged request id (its features are " +
      "read from the prediction log) or for a row you pass, against a named background (rows built from the version's training " +
      "baseline). Exact values for logistic models on the logit scale; permutation sampling (with standard errors) for MLPs and " +
      "imported graphs, or on the probability scale. Attributions sum to value − expectedValue.",
    input: z
      .object({
        model: z.string().min(1).max(64),
        requestId: z.string().min(1).max(128).optional().describe("A logged prediction's request id (query_inference_logs lists them)."),
        features: z.record(z.string().max(256), featureValue).optional().describe("Or a row to score: every schema feature by name, null for missing."),
        version: z.string().min(1).max(64).optional().describe("Default: the version that logged the request, or the one serving now."),
        class: z.string().min(1).max(256).optional().describe("Class whose output is explained; default the predicted class."),
        output: z.enum(["probability", "logit"]).optional().describe("Default logit for logistic models, probability otherwise."),
        method: z.enum(["auto", "exact", "sampling"]).optional().describe("auto: exact where the model is linear in the output, else sampling."),
        permutations: z.number().int().min(2).max(100_000).optional().describe("Sampling: permutation walks (default ≈ 20,000 evaluations' worth)."),
        backgroundRows: z.number().int().min(1).max(1000).optional().describe("Background rows (default 100)."),
        seed: z.number().int().min(0).max(4_294_967_295).optional(),
      })
      .strict(),
    output: z.looseObject({
      model: z.string(),
      version: z.string(),
      class: z.string(),
      predicted: z.string(),
      output: z.looseObject({ space: z.enum(["probability", "logit"]), description: z.string() }),
      method: z.looseObject({ name: z.string(), description: z.string() }),
      background: z.looseObject({ source: z.string(), rows: z.number(), description: z.string() }),
      value: z.number(),
      expectedValue: z.number(),
      attributions: z.array(z.looseObject({ feature: z.string(), value: featureValue, attribution: z.number(), standardError: z.number() })),
      additivityGap: z.number(),
      source: z.looseObject({ kind: z.enum(["logged", "posted"]) }),
    }),
    annotations: readOnly,
    async run(args) {
      const explanation = await explainPrediction(deps.store, args, deps.clock());
      return { summary: summarize(explanation), data: explanation };
    },
  });
}

function summarize(e: RequestExplanation): string {
  const what = e.source.kind === "logged" ? `request '${e.source.requestId}'` : "the posted row";
  const lines = [
    `'${e.model}' v${e.version} predicted '${e.predicted}' (${pct(Math.max(...e.probabilities))}) for ${what}. ` +
      `Explained: ${e.output.description}, ${num(e.value)} against ${num(e.expectedValue)} on average over the background (${e.background.rows} rows, ${e.background.source}); method ${e.method.name}.`,
  ];
  const top = e.attributions.slice(0, 5).map((a) => `${a.feature}=${a.value === null ? "missing" : String(a.value)} ${a.attribution >= 0 ? "+" : "−"}${num(Math.abs(a.attribution))}`);
  lines.push(`Largest contributions: ${top.join(", ")}.`);
  return lines.join("\n");
}

function num(x: number): string {
  return Number(x.toPrecision(3)).toString();
}
