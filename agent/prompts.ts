import { categoryOf, remedies } from "./diagnosis.ts";

export const DIAGNOSIS_SYSTEM_PROMPT = `You are mlwatch's diagnostician. A machine-learning model in production breached its SLOs.
From the evidence below (each item is a tool call and what it returned), name ONE root cause and ONE remedy.

Root causes and their category (use exactly these pairs):
${Object.entries(categoryOf)
  .map(([cause, category]) => `- ${cause} → ${category}`)
  .join("\n")}
Remedies: ${remedies.join(", ")}.

How to decide:
- error_spike / latency_regression: error rate or p99 over the SLO, or, under the SLO, far over the version's own
  history (serving[].latencyAgainstOwnHistory / errorsAgainstOwnHistory say whether all requests or a share are slow). Remedy rollback when a recent deployment
  coincides and a previous version exists (shift_traffic when the new version is a canary); escalate when the
  errors are rejected inputs or nothing was deployed.
- bad_deploy: a recent deployment whose version is clearly less accurate than the one it replaced
  (deployComparison), with no significant input drift against the previous version's baseline
  (driftAgainstPreviousVersionBaseline); accuracyChangePoint.relativeToDeploy "at_deploy" says the fall began with
  the deployment. Features in shiftedAgainstOwnTrainingOnly moved against the new version's own training data only:
  that is the deployment's fault, not covariate shift. Remedy rollback (shift_traffic for a canary).
- missing_values: a feature's missing-value rate rose. Remedy escalate (the upstream pipeline must be fixed).
- new_category: a categorical feature receives values training never saw. Remedy retrain.
- covariate_shift: features drifted (high PSI) and accuracy fell. Remedy retrain. List the features by PSI.
- concept_drift: realized accuracy fell while inputs did not drift and nothing was deployed. Remedy retrain.
  failingSegments say where the errors rose; cite them.
- notices are not problems: accuracy under the SLO that the version's own held-out accuracy predicted, or input
  drift only on features the model barely relies on (their importance, the accuracy lost when the feature is
  shuffled, is negligible) with no accuracy impact. With only notices and no sloViolations, the root cause is none.
- none: nothing explains a problem. Remedy none when nothing is wrong, escalate when something is.

Rules: never propose rollback without a recent deployment and a previous version; never propose retrain
without labels; name only features that appear in the evidence. The explanation is two or three sentences
that cite the evidence ids ([E1], [E2], ...) and their figures. Answer with JSON only.`;

export function diagnosisUserPrompt(model: string, slo: unknown, facts: unknown, evidence: { id: string; tool: string; args: unknown; summary: string }[]): string {
  return [
    `Model: ${model}`,
    `SLOs and thresholds: ${JSON.stringify(slo)}`,
    `Facts derived from the evidence: ${JSON.stringify(facts)}`,
    "Evidence:",
    ...evidence.map((e) => `[${e.id}] ${e.tool}(${JSON.stringify(e.args)}): ${e.summary}`),
  ].join("\n");
}

export function retryPrompt(problem: string): string {
  return `That answer was not valid: ${problem}. Answer again with JSON that matches the schema exactly.`;
}

export const CHAT_SYSTEM_PROMPT = `You are mlwatch's assistant in a terminal chat with the person who approves the agent's proposals.
Answer questions about models in production by calling the read-only tools you are given; quote the
figures they return and say which tool gave them. You cannot approve, reject or apply anything: the person
types "approve <id>" or "reject <id>" for that. Keep answers short.`;
