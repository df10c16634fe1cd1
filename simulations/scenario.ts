import { z } from "zod";

/** The public contract of a scenario file; `simulations/scenario.schema.json` is generated from it. */
const ramp = z.number().int().min(0).default(0).describe("0 = sudden; otherwise the fault grows linearly over this many requests");
const fraction = z.number().min(0).max(1);

export const injectionSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("covariate_shift"),
    feature: z.string().min(1),
    shiftStd: z.number().default(0).describe("the mean moves by this many reference standard deviations"),
    scale: z.number().positive().default(1).describe("spread around the reference mean is multiplied by this"),
    rampRequests: ramp,
  }),
  z.object({ type: z.literal("concept_drift"), strength: fraction, rampRequests: ramp }),
  z.object({ type: z.literal("new_category"), feature: z.string().min(1), values: z.array(z.string().min(1)).min(1), fraction, rampRequests: ramp }),
  z.object({ type: z.literal("missing_values"), feature: z.string().min(1), fraction, rampRequests: ramp }),
  z.object({
    type: z.literal("bad_deploy"),
    labelNoise: fraction.default(0).describe("share of the first class's training labels flipped to the second (a labelling bug) for the worse version"),
    dropFeatures: z
      .array(z.string().min(1))
      .default([])
      .describe("features blanked in the worse version's training data (its baseline then sees them as always missing)"),
    rampRequests: ramp,
  }),
  z.object({ type: z.literal("latency_regression"), extraMs: z.number().min(0).max(5000), fraction, rampRequests: ramp }),
  z.object({ type: z.literal("error_spike"), fraction, rampRequests: ramp }),
]);
export type Injection = z.infer<typeof injectionSchema>;

export const rootCauses = ["covariate_shift", "concept_drift", "new_category", "missing_values", "bad_deploy", "latency_regression", "error_spike", "none"] as const;
export const categories = ["data", "model", "infra", "none"] as const;
export const remedies = ["rollback", "retrain", "shift_traffic", "escalate", "none"] as const;
/** Which part of the suite a scenario belongs to: thresholds may be tuned on "tune" runs only; "holdout" runs are scored apart, untouched. */
export const splits = ["tune", "holdout"] as const;
export type Split = (typeof splits)[number];

export const scenarioSchema = z
  .object({
    name: z.string().min(1).max(100),
    description: z.string().optional(),
    seed: z.number().int().min(0).default(1),
    split: z
      .enum(splits)
      .default("tune")
      .describe("tune: may be used to tune the detector; holdout: kept out of tuning and scored separately (in this suite: files whose number is a multiple of 3, and 38–57, written blind after the thresholds were set)"),
    dataset: z.union([
      z.object({ generator: z.enum(["credit", "hyperplane"]) }).strict(),
      z.object({ csv: z.string().min(1), label: z.string().min(1) }).strict(),
    ]),
    model: z.object({ kind: z.enum(["logistic", "mlp"]).default("logistic") }).default({ kind: "logistic" }),
    trainingRows: z.number().int().min(500).max(200_000).default(20_000),
    labelDelayRequests: z.number().int().min(0).default(300).describe("ground truth for request i arrives after request i + this"),
    secondsPerRequest: z.number().positive().default(1).describe("virtual time between requests"),
    phases: z
      .array(
        z
          .object({
            name: z.string().min(1),
            requests: z.number().int().min(1).max(1_000_000),
            inject: z.array(injectionSchema).default([]),
          })
          .strict(),
      )
      .min(1),
    expect: z
      .object({
        rootCause: z.enum(rootCauses),
        category: z.enum(categories),
        features: z.array(z.string()).default([]),
        remedy: z.enum(remedies),
      })
      .strict(),
  })
  .strict();

export type Scenario = z.infer<typeof scenarioSchema>;
export type ScenarioInput = z.input<typeof scenarioSchema>;

export class ScenarioError extends Error {}

/** Parses a scenario, naming the first bad field as `path: reason` (and the file when given). */
export function parseScenario(input: unknown, source = "scenario"): Scenario {
  const parsed = scenarioSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ScenarioError(`${source}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data;
}

export function scenarioJsonSchema(): unknown {
  return z.toJSONSchema(scenarioSchema, { io: "input" });
}
