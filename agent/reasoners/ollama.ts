import { Ollama, type Message } from "ollama";
import { z } from "zod";
import { checkedDiagnosisSchema, diagnosisCoreSchema, type Diagnosis, type DiagnosisCore } from "../diagnosis.ts";
import type { ReasonInput, Reasoner } from "./reasoner.ts";
import type { AgentConfig } from "../configuration.ts";
import {
  accuracyBreach,
  errorsAgainstBaseline,
  extractFacts,
  latencyShift,
  onsetVsDeploy,
  sloNotices,
  sloViolations,
  type DriftFacts,
  type Facts,
} from "../facts.ts";
import { DIAGNOSIS_SYSTEM_PROMPT, diagnosisUserPrompt, retryPrompt } from "../prompts.ts";
import { checkDiagnosis, diagnoseDeterministic } from "./deterministic.ts";

/** The `format` every request carries: Ollama constrains its output to this JSON schema. */
export const diagnosisJsonSchema = z.toJSONSchema(diagnosisCoreSchema);

export interface OllamaReasonerOptions {
  host: string;
  model: string;
}

/**
 * Asks a local model through Ollama, holds it to the diagnosis schema, retries a malformed answer
 * once, and checks the answer against the evidence. Whenever the answer cannot be used the
 * deterministic rules decide, and the diagnosis says why in `fallbackReason`.
 */
export function ollamaReasoner(o: OllamaReasonerOptions): Reasoner {
  const client = new Ollama({ host: o.host });
  return {
    name: "ollama",
    async diagnose(input) {
      const fallback = (reason: string): Diagnosis => ({ ...diagnoseDeterministic(input), fallbackReason: reason });
      const facts = extractFacts(input.evidence, input.config, input.nowMs);
      const messages: Message[] = [
        { role: "system", content: DIAGNOSIS_SYSTEM_PROMPT },
        {
          role: "user",
          content: diagnosisUserPrompt(input.model, { ...input.config.slo, ...input.config.thresholds }, digest(facts, input.config), input.evidence.map((e) => ({ id: e.id, tool: e.tool, args: e.args, summary: e.summary }))),
        },
      ];
      let answer: DiagnosisCore | undefined;
      let problem = "";
      for (let attempt = 0; attempt < 2 && !answer; attempt++) {
        let content: string;
        try {
          const res = await client.chat({ model: o.model, messages, format: diagnosisJsonSchema, options: { temperature: 0 }, stream: false });
          content = res.message.content;
        } catch (err) {
          return fallback(`Ollama at ${o.host} failed: ${err instanceof Error ? err.message : String(err)}`);
        }
        const parsed = parseAnswer(content);
        if (parsed.ok) answer = parsed.value;
        else {
          problem = parsed.problem;
          messages.push({ role: "assistant", content }, { role: "user", content: retryPrompt(problem) });
        }
      }
      if (!answer) return fallback(`Ollama's answer was malformed twice (${problem}); the deterministic rules decided`);
      const check = checkDiagnosis(answer, input.evidence, input.config, input.nowMs);
      if (!check.ok) return fallback(`Ollama proposed ${answer.rootCause}/${answer.remedy}, which the evidence contradicts (${check.reasons.join("; ")}); the deterministic rules decided`);
      return { ...answer, reasoner: "ollama" };
    },
  };
}

function parseAnswer(content: string): { ok: true; value: DiagnosisCore } | { ok: false; problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch {
    return { ok: false, problem: "not JSON" };
  }
  const r = checkedDiagnosisSchema.safeParse(json);
  return r.success ? { ok: true, value: r.data } : { ok: false, problem: r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ") };
}

/**
 * The facts in a compact, JSON-friendly form for the prompt, with what the deterministic rules read
 * off them (relative baselines, deploy attribution, the change point, where errors rose, feature importance, notices), so
 * the model weighs the same findings the rules and the evidence check use.
 */
function digest(f: Facts, config: AgentConfig): unknown {
  const top = (d: DriftFacts) => d.ranked.slice(0, 10).map((x) => ({ feature: x.feature, psi: x.psi, method: x.method ?? "none", score: x.score, drifted: x.drifted, importance: x.importance }));
  const onset = f.accuracyOnset;
  const cmp = f.deploy;
  return {
    traffic: f.traffic,
    recentDeployment: f.recentDeployment,
    serving: f.serving.map((v) => ({
      ...v,
      latencyAgainstOwnHistory: latencyShift(v, f, config),
      errorsAgainstOwnHistory: errorsAgainstBaseline(v.history, config.thresholds.relative),
      accuracyBreach: accuracyBreach(v, config, f.deploy),
    })),
    versions: Object.fromEntries(f.versions),
    sloViolations: sloViolations(f, config),
    notices: sloNotices(f, config),
    deployComparison: cmp && { previousVersion: cmp.dep.previousVersion, version: cmp.dep.version, previous: cmp.a, deployed: cmp.b, source: cmp.source, drop: cmp.drop, pValue: cmp.pValue },
    accuracyChangePoint: onset && { ...onset, at: new Date(onset.atUs / 1000).toISOString(), relativeToDeploy: f.recentDeployment ? onsetVsDeploy(onset, f.recentDeployment.atUs) : null },
    drift: f.drift && { datasetDrifted: f.drift.datasetDrifted, share: f.drift.share, predictionDrifted: f.drift.predictionDrifted, topFeatures: top(f.drift) },
    driftAgainstPreviousVersionBaseline: f.referenceDrift && { referenceVersion: f.referenceDrift.referenceVersion, datasetDrifted: f.referenceDrift.datasetDrifted, topFeatures: top(f.referenceDrift) },
    shiftedAgainstOwnTrainingOnly: f.mismatch,
    unseen: f.unseen,
    missingRise: f.missingRise,
    failingSegments: f.segments.slice(0, 10),
    labelledRows: f.labelledAny,
    wrongPredictionSamples: f.wrongSamples,
  };
}
