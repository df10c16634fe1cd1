import type { Store } from "../../store/client.ts";
import type { ModelSchema, Row } from "../schema.ts";
import { ExplainInputError } from "./check-row.ts";

/** One logged prediction, as the explanation needs it. */
export interface LoggedRequest {
  requestId: string;
  version: string;
  variant: string;
  tsUs: number;
  predicted: string;
  probabilities: number[];
  error: string;
  featureNum: (number | null)[];
  featureCat: string[];
}

// Both the inference route and the MCP tool read a logged row, and models/ is the layer both may
// use; the bloom index on request_id keeps this a point lookup.
const LOGGED_SQL = (table: string) => `
  SELECT request_id, version, variant, toUnixTimestamp64Micro(ts) AS ts_us, predicted, probabilities, error, feature_num, feature_cat
  FROM ${table} FINAL
  WHERE model = {model:String} AND request_id = {requestId:String}
  ORDER BY variant = 'shadow', ts
  LIMIT 10`;

interface Raw {
  request_id: string;
  version: string;
  variant: string;
  ts_us: number | string;
  predicted: string;
  probabilities: number[];
  error: string;
  feature_num: (number | null)[];
  feature_cat: string[];
}

/**
 * The logged prediction of a request id: the row of `version` when given, else the one the caller
 * was answered with (primary or canary), a shadow's only when nothing else was logged.
 */
export async function readLoggedRequest(store: Store, model: string, requestId: string, version?: string): Promise<LoggedRequest> {
  const rows = await store.rows<Raw>(LOGGED_SQL(store.table("predictions")), { model, requestId });
  const row = version === undefined ? rows[0] : rows.find((r) => r.version === version);
  if (!row) {
    const also = version !== undefined && rows.length ? ` (it was logged for version ${[...new Set(rows.map((r) => r.version))].join(", ")})` : "";
    throw new ExplainInputError("requestId", `no prediction of model '${model}'${version !== undefined ? ` version ${version}` : ""} was logged with request id '${requestId}'${also}; post its features instead`, 404);
  }
  return {
    requestId: row.request_id,
    version: row.version,
    variant: row.variant,
    tsUs: Number(row.ts_us),
    predicted: row.predicted,
    probabilities: row.probabilities.map(Number),
    error: row.error,
    featureNum: row.feature_num,
    featureCat: row.feature_cat,
  };
}

/** The logged features as a row of `schema`; refuses rows logged as a hash only, saying what to do instead. */
export function loggedRow(logged: LoggedRequest, schema: ModelSchema): Row {
  const numeric = schema.features.filter((f) => f.type === "numeric");
  const categorical = schema.features.filter((f) => f.type === "categorical");
  if (logged.featureNum.length === 0 && logged.featureCat.length === 0) {
    throw new ExplainInputError("requestId",
      `request '${logged.requestId}' was logged with MLWATCH_LOG_FEATURES=hash: only its feature hash and bins are stored, not the values an explanation needs; post its features instead ({"features": {...}})`,
    );
  }
  if (logged.featureNum.length !== numeric.length || logged.featureCat.length !== categorical.length) {
    throw new ExplainInputError("requestId", `request '${logged.requestId}' was logged with another feature layout than version ${logged.version}'s schema; post its features instead`);
  }
  const row: Row = {};
  numeric.forEach((f, i) => (row[f.name] = logged.featureNum[i] ?? null));
  // The log writes a missing category as ''.
  categorical.forEach((f, i) => (row[f.name] = logged.featureCat[i] || null));
  return row;
}
