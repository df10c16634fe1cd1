import { z } from "zod";

/** The fixed list of root causes, each with the category it belongs to. */
export const categoryOf = {
  covariate_shift: "data",
  concept_drift: "data",
  new_category: "data",
  missing_values: "data",
  bad_deploy: "model",
  latency_regression: "infra",
  error_spike: "infra",
  none: "none",
} as const;
export type RootCause = keyof typeof categoryOf;
export const rootCauses = Object.keys(categoryOf) as [RootCause, ...RootCause[]];
export const categories = ["data", "model", "infra", "none"] as const;
export const remedies = ["rollback", "retrain", "shift_traffic", "escalate", "none"] as const;
export type Remedy = (typeof remedies)[number];

/** What a reasoner must produce; its JSON schema is the `format` Ollama is held to. */
export const diagnosisCoreSchema = z.object({
  rootCause: z.enum(rootCauses),
  category: z.enum(categories),
  features: z.array(z.string()).describe("features involved, most affected first; empty when no feature is"),
  confidence: z.number().min(0).max(1),
  remedy: z.enum(remedies),
  explanation: z.string().min(1).max(2000).describe("two or three sentences citing the evidence by its figures"),
});
export type DiagnosisCore = z.infer<typeof diagnosisCoreSchema>;

/** The core plus the consistency JSON schema cannot express: the category follows the root cause. */
export const checkedDiagnosisSchema = diagnosisCoreSchema.refine((d) => categoryOf[d.rootCause] === d.category, {
  message: "category does not match the root cause",
  path: ["category"],
});

export interface Diagnosis extends DiagnosisCore {
  reasoner: "deterministic" | "ollama";
  /** Why the Ollama reasoner's answer was not used, when it was not. */
  fallbackReason?: string;
}
