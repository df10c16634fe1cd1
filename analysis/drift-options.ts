import { z } from "zod";
import type { ModelSchema } from "../models/schema.ts";
import { driftMethods, type Correction, type DriftMethodName } from "../stats/index.ts";

/** A drift option a caller got wrong; `field` names it. The MCP tool reports it as a tool error. */
export class DriftOptionsError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

const corrections = ["none", "bonferroni", "benjamini-hochberg"] as const satisfies readonly Correction[];
export const driftMethodNames = Object.keys(driftMethods) as [DriftMethodName, ...DriftMethodName[]];

const DEFAULT_CORRECTION: Correction = "benjamini-hochberg";
/** Evidently's default share of drifted features for dataset drift. */
const DEFAULT_SHARE_THRESHOLD = 0.5;

const outsideUnit = (issue: { input?: unknown }) => `must be in [0, 1], got ${String(issue.input)}`;

/**
 * The drift options' one definition: the MCP tool takes its fields as they are (so the SDK refuses a
 * bad value with these messages before anything runs) and checkDriftOptions parses in-process
 * callers' options with it.
 */
export const driftOptionsSchema = z.object({
  correction: z
    .enum(corrections, { error: (issue) => `unknown correction '${String(issue.input)}' (known: ${corrections.join(", ")})` })
    .optional()
    .describe(`Multiple-testing correction (default ${DEFAULT_CORRECTION}).`),
  shareThreshold: z
    .number({ error: outsideUnit })
    .min(0, { error: outsideUnit })
    .max(1, { error: outsideUnit })
    .optional()
    .describe(`Share of drifted features that makes the dataset drifted (default ${DEFAULT_SHARE_THRESHOLD}).`),
  method: z
    .enum(driftMethodNames, { error: (issue) => `unknown drift method '${String(issue.input)}' (known: ${driftMethodNames.join(", ")})` })
    .optional()
    .describe(
      "One drift test for every feature instead of the default choice per feature (selectionRule). ks and wasserstein apply to " +
        "numeric features only: asking for them on a model with a categorical feature is an error naming it.",
    ),
});

export interface DriftOptionsInput extends z.input<typeof driftOptionsSchema> {
  reference?: unknown;
  referenceVersion?: string | undefined;
}

export interface DriftOptions {
  correction: Correction;
  shareThreshold: number;
  method: DriftMethodName | undefined;
}

/**
 * Every drift option checked in one place, against the analysed version's schema: a requested
 * method must fit every feature's type (KS and Wasserstein read numeric values only), and is then
 * used for all of them, with no quiet fallback to another method.
 */
export function checkDriftOptions(query: DriftOptionsInput, schema: ModelSchema): DriftOptions {
  const parsed = driftOptionsSchema.safeParse({ correction: query.correction, shareThreshold: query.shareThreshold, method: query.method });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DriftOptionsError(issue.path.join("."), issue.message);
  }
  if (query.referenceVersion !== undefined && query.reference !== undefined && query.reference !== "baseline") {
    throw new DriftOptionsError("referenceVersion", "a reference version and a reference window exclude each other: pick one reference");
  }
  const { correction = DEFAULT_CORRECTION, shareThreshold = DEFAULT_SHARE_THRESHOLD, method } = parsed.data;
  if (method !== undefined) checkMethodFits(method, schema);
  return { correction, shareThreshold, method };
}

function checkMethodFits(method: DriftMethodName, schema: ModelSchema): void {
  const fits = driftMethods[method].featureTypes;
  const misfits = schema.features.filter((f) => !fits.includes(f.type));
  if (misfits.length === 0) return;
  const type = misfits[0]!.type;
  const alternatives = driftMethodNames.filter((m) => driftMethods[m].featureTypes.includes(type));
  throw new DriftOptionsError(
    "method",
    `${method} applies to ${fits.join(" and ")} features only; ${misfits.map((f) => `feature '${f.name}' is ${f.type}`).join(", ")} (for ${type} features use ${alternatives.join(", ")})`,
  );
}
