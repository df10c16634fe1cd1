import { completable, type McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import { listModels } from "../../models/registry.ts";
import type { ToolDeps } from "../deps.ts";

export function registerInvestigateModelPrompt(server: McpServer, deps: ToolDeps): void {
  server.registerPrompt(
    "investigate_model",
    {
      title: "Investigate a model",
      description: "Step-by-step investigation of one model in production: health, accuracy, drift, examples, deployments, versions.",
      argsSchema: z.object({
        model: completable(z.string().min(1).describe("Model name, as list_models shows it."), async (prefix) =>
          (await listModels(deps.store)).map((m) => m.model).filter((m) => m.startsWith(prefix ?? "")),
        ),
      }),
    },
    ({ model }) => ({
      description: `Investigate model '${model}'`,
      messages: [{ role: "user", content: { type: "text", text: investigation(model, deps.actionsEnabled) } }],
    }),
  );
}

function investigation(model: string, actions: boolean): string {
  const steps = [
    `get_model_health {model: "${model}"} — traffic, error rate, latency and which versions serve (primary, canary, shadow). Note anything abnormal.`,
    `get_model_accuracy {model: "${model}"} — live accuracy on labelled traffic against the training baseline, per time bucket. Find when it changed; labels arrive late, so say how many were labelled.`,
    `detect_data_drift {model: "${model}"} — which input features moved away from the training baseline (corrected for multiple testing). List the drifted features with their scores.`,
    `get_feature_distribution {model: "${model}", feature: …} for each drifted feature — how the distribution moved (new categories, shifted range, more missing values).`,
    `query_inference_logs {model: "${model}", …} — concrete examples: wrong predictions (correct: false), low confidence, errors, or groupBy a drifted feature to find the segment that fails.`,
    `get_deployment_history {model: "${model}"} — did a deploy, promotion, rollback or traffic change coincide with the problem?`,
    `compare_model_versions {model: "${model}", versionA, versionB} — if a previous version, canary or shadow exists, which performs better on the same window (use mode "shadow" when one version shadows the other).`,
  ];
  const close = actions
    ? [
        `Conclude with the most likely cause and the evidence for it (numbers, windows, tool results), and what you are unsure of.`,
        `If a change would help (rollback, promote, set_traffic_split, retrain), call propose_action with that evidence as the reason and show the person the proposal id and its effect.`,
        `Never call apply_action before a person has approved the proposal (get_proposal shows its status). After applying, check get_model_health and get_model_accuracy again.`,
      ]
    : [`Conclude with the most likely cause and the evidence for it (numbers, windows, tool results), what you are unsure of, and what a person could do about it.`];
  return [
    `Investigate the production model '${model}' with the mlwatch tools, in this order, and keep each step's key figures:`,
    ...steps.map((s, i) => `${i + 1}. ${s}`),
    ...close.map((s, i) => `${steps.length + i + 1}. ${s}`),
    `If a tool returns an error, read it: it names the argument to fix or says the model is unknown.`,
  ].join("\n");
}
