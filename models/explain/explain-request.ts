import type { Store } from "../../store/client.ts";
import type { ModelBaseline } from "../baseline.ts";
import type { Scorer } from "../import/io-scorer.ts";
import type { ModelVersion } from "../registry.ts";
import { baselineBackground, DEFAULT_BACKGROUND_ROWS } from "./background.ts";
import { checkRow, ExplainInputError } from "./check-row.ts";
import { explainRow, type ExplainOptions, type Explanation } from "./explain-row.ts";
import { loggedRow, readLoggedRequest } from "./logged-request.ts";

/** Where a version's session comes from: the serving cache in inference, a fresh session elsewhere. */
export interface ScorerSource {
  open(model: string, version: string): Promise<{ scorer: Scorer; meta: ModelVersion; baseline: ModelBaseline; release(): Promise<void> }>;
}

export interface ExplainRequest extends ExplainOptions {
  model: string;
  /** A logged request: its features are read from the prediction log. */
  requestId?: string;
  /** Or a row posted by the caller. */
  features?: Record<string, unknown>;
  /** For a request id: which version's logged row (default the one that answered); for features: which version scores it. */
  version?: string;
  backgroundRows?: number;
}

export type ExplanationSource =
  | { kind: "logged"; requestId: string; variant: string; tsUs: number; loggedPredicted: string; loggedProbabilities: number[] }
  | { kind: "posted" };

export interface RequestExplanation extends Explanation {
  source: ExplanationSource;
  versionChosenBy: string;
}

/** The version a posted row is explained with when the caller names none, and why. */
export type DefaultVersion = (model: string) => Promise<{ version: string; chosenBy: string }>;

/** Explains a logged request id or a posted row with the version that served (or would serve) it. */
export async function explainRequest(store: Store, source: ScorerSource, defaultVersion: DefaultVersion, req: ExplainRequest): Promise<RequestExplanation> {
  if ((req.requestId === undefined) === (req.features === undefined)) {
    throw new ExplainInputError("requestId", "give exactly one of requestId (a logged prediction) or features (a row to score)");
  }
  const logged = req.requestId !== undefined ? await readLoggedRequest(store, req.model, req.requestId, req.version) : null;
  const chosen = logged ? { version: logged.version, chosenBy: "the version that logged the request" } : req.version ? { version: req.version, chosenBy: "requested" } : await defaultVersion(req.model);
  const opened = await source.open(req.model, chosen.version);
  try {
    const schema = opened.meta.schema;
    const row = logged ? loggedRow(logged, schema) : checkRow(req.features!, schema);
    const background = baselineBackground(schema, opened.baseline, chosen.version, req.backgroundRows ?? DEFAULT_BACKGROUND_ROWS);
    const target = { scorer: opened.scorer, model: req.model, version: chosen.version, kind: opened.meta.kind, schema };
    const explanation = await explainRow(target, row, background, req);
    const from: ExplanationSource = logged
      ? { kind: "logged", requestId: logged.requestId, variant: logged.variant, tsUs: logged.tsUs, loggedPredicted: logged.predicted, loggedProbabilities: logged.probabilities }
      : { kind: "posted" };
    return { ...explanation, source: from, versionChosenBy: chosen.chosenBy };
  } finally {
    await opened.release();
  }
}
