// What each tool returns as structuredContent, for the tools that build their result beyond an
// analysis report. Types only: the tool types its `data` with them and an MCP client (agent/)
// reads the result as this type, so both sides share one vocabulary.
import type { z } from "zod";
import type { AccuracyReport } from "../analysis/index.ts";
import type { deploymentHistorySchema } from "./tools/get-deployment-history.ts";

/** A version's held-out accuracy at training, from the registry. */
export interface HeldOut {
  baselineAccuracy: number | null;
  baselineRows: number | null;
}

/** get_model_accuracy: the AccuracyReport with held-out accuracy per version, and for the analysed version at the top. */
export type AccuracyResult = Omit<AccuracyReport, "byVersion"> & HeldOut & { byVersion: (AccuracyReport["byVersion"][number] & HeldOut)[] };

/** get_deployment_history: audit events newest first, times as ISO strings, fields in snake_case. */
export type DeploymentHistory = z.infer<typeof deploymentHistorySchema>;
