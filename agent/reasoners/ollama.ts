import { Ollama, type Message } from "ollama";
import { z } from "zod";
import { checkedDiagnosisSchema, diagnosisCoreSchema, type Diagnosis, type DiagnosisCore, type ReasonInput, type Reasoner } from "../diagnosis.ts";
import { extractFacts, type Facts } from "../facts.ts";
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
          content: diagnosisUserPrompt(input.model, { ...input.config.slo, ...input.config.thresholds }, digest(facts), input.evidence.map((e) => ({ id: e.id, tool: e.tool, args: e.args, summary: e.summary }))),
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

/** The facts in a compact, JSON-friendly form for the prompt. */
function digest(f: Facts): unknown {
  return {
    traffic: f.traffic,
    recentDeployment: f.recentDeployment,
    serving: f.serving,
    versions: Object.fromEntries(f.versions),
    drift: f.drift && {
      datasetDrifted: f.drift.datasetDrifted,
      share: f.drift.share,
      predictionDrifted: f.drift.predictionDrifted,
      topFeatures: f.drift.ranked.slice(0, 10).map((x) => ({ feature: x.feature, psi: x.psi, method: x.method, score: x.score, drifted: x.drifted })),
    },
    unseen: f.unseen,
    missingRise: f.missingRise,
    labelledRows: f.labelledAny,
    wrongPredictionSamples: f.wrongSamples,
  };
}
