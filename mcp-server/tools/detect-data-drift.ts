import type { McpServer } from "@modelcontextprotocol/server";
import { z } from "zod";
import {
  describeImportance,
  detectDataDrift,
  driftMethodNames,
  driftOptionsSchema,
  featureImportanceSchema,
  importanceRunSchema,
  windowSchema,
  type DriftReport,
} from "../../analysis/index.ts";
import type { ToolDeps } from "../deps.ts";
import { readOnly, registerToolSpec } from "../tool-kit.ts";
import { windowArg } from "../windows.ts";

export function registerDetectDataDriftTool(server: McpServer, deps: ToolDeps): void {
  registerToolSpec(server, deps, {
    name: "detect_data_drift",
    title: "Detect data drift",
    description:
      "Tests every input feature of one model version for drift between the window and a reference (default: the version's " +
      "training baseline; or another window), with the method chosen per feature type and sample size, p-values corrected for " +
      "testing many features, PSI, missing-value and unseen-category shifts, and prediction/label distribution drift. Features come " +
      "sorted by PSI, the most moved first; `dataset.drifted` says whether enough features drifted to call the dataset drifted. " +
      "Each feature carries its permutation importance to the version (accuracy lost when its column is shuffled) and rank, null " +
      "when unknown: drift on a feature the model barely uses matters less. `method` forces one test for every feature.",
    input: z
      .object({
        model: z.string().min(1).max(64),
        version: z.string().min(1).max(64).optional().describe("Default: the version with most primary traffic in the window."),
        window: windowArg,
        reference: z
          .union([z.literal("baseline"), windowSchema])
          .optional()
          .describe("'baseline' (training data, default) or a window of live traffic to compare against."),
        referenceVersion: z
          .string()
          .min(1)
          .max(64)
          .optional()
          .describe(
            "Compare against this other version's training baseline instead (e.g. the version a deployment replaced): drift against the new " +
              "version's own baseline but not against its predecessor's means the new version was trained on data unlike its traffic. " +
              "Excludes a reference window.",
          ),
        ...driftOptionsSchema.shape,
      })
      .strict(),
    output: z.looseObject({
      model: z.string(),
      version: z.string(),
      rows: z.number(),
      requestedMethod: z.enum(driftMethodNames).nullable(),
      importanceRun: importanceRunSchema.nullable(),
      features: z.array(
        z.looseObject({
          feature: z.string(),
          drifted: z.boolean(),
          psi: z.number(),
          method: z.enum(driftMethodNames).nullable(),
          methodChosenBy: z.enum(["requested", "default selector"]).nullable(),
          defaultMethod: z.enum(driftMethodNames).nullable(),
          importance: featureImportanceSchema.nullable(),
        }),
      ),
      dataset: z.looseObject({ drifted: z.boolean(), share: z.number(), driftedFeatures: z.array(z.string()) }).nullable(),
      summary: z.string(),
      notes: z.array(z.string()),
    }),
    annotations: readOnly,
    async run({ model, version, window, reference, referenceVersion, correction, shareThreshold, method }) {
      const report = await detectDataDrift(
        deps.store,
        { model, version, window, reference, ...(referenceVersion !== undefined ? { referenceVersion } : {}), correction, shareThreshold, method },
        deps.clock(),
      );
      return { summary: summarize(report), data: report };
    },
  });
}

function summarize(r: DriftReport): string {
  const against = r.reference.kind === "version" ? `v${r.reference.version}'s training baseline` : `the ${r.reference.kind}`;
  const lines = [`'${r.model}' v${r.version}, ${r.rows} rows in ${r.window.from} – ${r.window.to} against ${against}: ${r.summary}`];
  const drifted = r.features.filter((f) => f.drifted);
  if (drifted.length) {
    const described = drifted.slice(0, 8).map((f) => {
      const test = !f.method
        ? ""
        : f.adjustedPValue !== null
          ? `${f.method} p_adj ${f.adjustedPValue < 0.001 ? "<0.001" : f.adjustedPValue.toFixed(3)}`
          : `${f.method} ${f.score?.toFixed(3) ?? "n/a"}${f.threshold !== null ? ` vs threshold ${f.threshold}` : ""}`;
      const shift = f.meanShift?.inStd != null ? `, mean ${f.meanShift.inStd >= 0 ? "+" : ""}${f.meanShift.inStd.toFixed(2)} std` : "";
      const unseen = f.unseen && f.unseen.current > 0 ? `, unseen categories ${f.unseen.current}` : "";
      return `${f.feature} (PSI ${f.psi.toFixed(3)} ${f.psiLevel}${test ? `, ${test}` : ""}${shift}${unseen}, ${describeImportance(f.importance)})`;
    });
    lines.push(`Drifted features: ${described.join("; ")}${drifted.length > 8 ? `; and ${drifted.length - 8} more` : ""}.`);
  } else if (r.rows > 0) {
    lines.push("No feature drifted significantly.");
  }
  if (r.prediction?.drifted) lines.push(`The predicted class distribution drifted too (PSI ${r.prediction.psi.toFixed(3)}).`);
  if (r.notes.length) lines.push(`Notes: ${r.notes.join("; ")}.`);
  return lines.join("\n");
}
