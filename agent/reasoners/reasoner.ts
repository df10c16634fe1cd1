import type { AgentConfig } from "../configuration.ts";
import type { Diagnosis } from "../diagnosis.ts";
import type { Evidence } from "../state.ts";

export interface ReasonInput {
  model: string;
  evidence: Evidence[];
  config: AgentConfig;
  /** Wall or virtual clock, ms: how old a deployment is. */
  nowMs: number;
}

/** Turns the evidence of one investigation into a diagnosis (deterministic.ts, ollama.ts). */
export interface Reasoner {
  readonly name: Diagnosis["reasoner"];
  diagnose(input: ReasonInput): Promise<Diagnosis>;
}
