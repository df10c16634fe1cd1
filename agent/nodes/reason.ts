import type { AgentStateType, AgentUpdate } from "../state.ts";
import { entry, type AgentDeps } from "./common.ts";

export async function reason(state: AgentStateType, deps: AgentDeps): Promise<AgentUpdate> {
  const diagnosis = await deps.reasoner.diagnose({ model: state.model, evidence: state.evidence, config: deps.config, nowMs: deps.now() });
  const by = diagnosis.reasoner + (diagnosis.fallbackReason ? ` (fallback: ${diagnosis.fallbackReason})` : "");
  return {
    diagnosis,
    status: "diagnosed",
    timeline: [
      entry(deps, "reason", `${diagnosis.rootCause} (${diagnosis.category}), confidence ${diagnosis.confidence.toFixed(2)}, remedy ${diagnosis.remedy} — ${by}: ${diagnosis.explanation}`),
    ],
  };
}
