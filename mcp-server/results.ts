// What each tool returns as structuredContent, for the tools that build their result beyond an
// analysis report. Types only: the tool types its `data` with them and an MCP client (agent/)
// reads the result as this type, so both sides share one vocabulary.
import type { z } from "zod";
import type { AccuracyReport } from "../analysis/index.ts";
import type { PlanView } from "../rollout/plan-view.ts";
import type { TrafficState } from "../store/deployments.ts";
import type { ProposalView } from "./proposal-view.ts";
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

/** propose_action: the proposal as every action tool shows it, and what has to happen next. */
export type Proposed = ProposalView & { next_step: string };

/** apply_action: the applied proposal, the traffic now, and a retrain's rollout plan. */
export interface Applied {
  proposal: ProposalView;
  applied_event_id: string;
  state: TrafficState;
  rollout: PlanView | null;
}

/** list_proposals: newest first, one page. */
export interface ProposalList {
  proposals: ProposalView[];
  truncated: boolean;
  next_cursor: string | null;
}
