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

export const corrections = ["none", "bonferroni", "benjamini-hochberg"] as const satisfies readonly Correction[];
export const driftMethodNames = Object.keys(driftMethods) as [DriftMethodName, ...DriftMethodName[]];

export interface DriftOptionsInput {
  correction?: Correction | undefined;
  shareThreshold?: number | undefined;
  method?: DriftMethodName | undefined;
  reference?: unknown;
  referenceVersion?: string | undefined;
}

export interface DriftOptions {
  correction: Correction;
  shareThreshold: number;
  method: DriftMethodName | undefined;
}

const DEFAULT_CORRECTION: Correction = "benjamini-hochberg";
/** Evidently's default share of drifted features for dataset drift. */
const DEFAULT_SHARE_THRESHOLD = 0.5;

/**
 * Every drift option checked in one place, against the analysed version's schema: a requested
 * method must fit every feature's type (KS and Wasserstein read numeric values only), and is then
 * used for all of them, with no quiet fallback to another method.
 */
export function checkDriftOptions(query: DriftOptionsInput, schema: ModelSchema): DriftOptions {
  const correction = query.correction ?? DEFAULT_CORRECTION;
  const shareThreshold = query.shareThreshold ?? DEFAULT_SHARE_THRESHOLD;
  if (!corrections.includes(correction)) throw new DriftOptionsError("correction", `unknown correction '${correction}' (known: ${corrections.join(", ")})`);
  if (!(shareThreshold >= 0 && shareThreshold <= 1)) throw new DriftOptionsError("shareThreshold", `must be in [0, 1], got ${shareThreshold}`);
  if (query.referenceVersion !== undefined && query.reference !== undefined && query.reference !== "baseline") {
    throw new DriftOptionsError("referenceVersion", "a reference version and a reference window exclude each other: pick one reference");
  }
  const method = query.method;
  if (method === undefined) return { correction, shareThreshold, method };
  if (!driftMethodNames.includes(method)) throw new DriftOptionsError("method", `unknown drift method '${method}' (known: ${driftMethodNames.join(", ")})`);
  const fits = driftMethods[method].featureTypes;
  const misfits = schema.features.filter((f) => !fits.includes(f.type));
  if (misfits.length > 0) {
    const type = misfits[0]!.type;
    const alternatives = driftMethodNames.filter((m) => driftMethods[m].featureTypes.includes(type));
    throw new DriftOptionsError(
      "method",
      `${method} applies to ${fits.join(" and ")} features only; ${misfits.map((f) => `feature '${f.name}' is ${f.type}`).join(", ")} (for ${type} features use ${alternatives.join(", ")})`,
    );
  }
  return { correction, shareThreshold, method };
}
