import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { ToolDeps } from "../deps.ts";
import { registerAbortRolloutTool } from "./abort-rollout.ts";
import { registerAdvanceRolloutTool } from "./advance-rollout.ts";
import { registerApplyActionTool } from "./apply-action.ts";
import { registerApproveActionTool } from "./approve-action.ts";
import { registerCompareModelVersionsTool } from "./compare-model-versions.ts";
import { registerDetectDataDriftTool } from "./detect-data-drift.ts";
import { registerExplainPredictionTool } from "./explain-prediction.ts";
import { registerFindFailingSegmentsTool } from "./find-failing-segments.ts";
import { registerGetDeploymentHistoryTool } from "./get-deployment-history.ts";
import { registerGetFeatureDistributionTool } from "./get-feature-distribution.ts";
import { registerGetModelAccuracyTool } from "./get-model-accuracy.ts";
import { registerGetModelHealthTool } from "./get-model-health.ts";
import { registerGetProposalTool } from "./get-proposal.ts";
import { registerGetSegmentPerformanceTool } from "./get-segment-performance.ts";
import { registerGetRolloutTool } from "./get-rollout.ts";
import { registerListModelsTool } from "./list-models.ts";
import { registerListProposalsTool } from "./list-proposals.ts";
import { registerProposeActionTool } from "./propose-action.ts";
import { registerQueryInferenceLogsTool } from "./query-inference-logs.ts";

/** Read-only tools always; actions only when enabled; approving only for the approver credential. */
export function registerTools(server: McpServer, deps: ToolDeps): void {
  registerListModelsTool(server, deps);
  registerGetModelHealthTool(server, deps);
  registerGetModelAccuracyTool(server, deps);
  registerDetectDataDriftTool(server, deps);
  registerGetFeatureDistributionTool(server, deps);
  registerQueryInferenceLogsTool(server, deps);
  registerCompareModelVersionsTool(server, deps);
  registerGetDeploymentHistoryTool(server, deps);
  registerFindFailingSegmentsTool(server, deps);
  registerGetSegmentPerformanceTool(server, deps);
  registerExplainPredictionTool(server, deps);
  registerGetRolloutTool(server, deps);
  if (!deps.actionsEnabled) return;
  registerProposeActionTool(server, deps);
  registerApplyActionTool(server, deps);
  registerGetProposalTool(server, deps);
  registerListProposalsTool(server, deps);
  registerAdvanceRolloutTool(server, deps);
  registerAbortRolloutTool(server, deps);
  if (deps.principal.role === "approver") registerApproveActionTool(server, deps);
}
