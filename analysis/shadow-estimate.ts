import type { Store } from "../store/client.ts";
import { CbpeSum, calibratorFor, CONF_BIN_SQL } from "./cbpe.ts";
import { versionInfo } from "./version.ts";
import { windowCondition, windowParams, type ResolvedWindow } from "./window.ts";

export interface ShadowEstimate {
  /** Requests the shadow version scored in the window (labelled or not). */
  requests: number;
  /** CBPE estimate of each version's accuracy on those same requests; null without calibration data. */
  primary: number | null;
  shadow: number | null;
}

/**
 * CBPE on the requests a shadow version scored, for it and for the version that answered them: an
 * estimate of both on the same traffic before labels arrive. Each version's confidences are read
 * through its own held-out calibration.
 */
const SQL = (predictions: string) => `
  SELECT version, ${CONF_BIN_SQL} AS conf, count() AS rows
  FROM ${predictions} FINAL
  WHERE model = {model:String} AND version IN ({primary:String}, {shadow:String}) AND error = '' AND ${windowCondition()}
    AND (version = {shadow:String}) = (variant = 'shadow')
    AND cityHash64(request_id) IN (
      SELECT cityHash64(request_id) FROM ${predictions} FINAL
      WHERE model = {model:String} AND version = {shadow:String} AND variant = 'shadow' AND error = '' AND ${windowCondition()})
  GROUP BY version, conf`;

export async function shadowEstimate(store: Store, q: { model: string; primary: string; shadow: string; window: ResolvedWindow }): Promise<ShadowEstimate> {
  const rows = await store.rows<{ version: string; conf: number; rows: number }>(SQL(store.table("predictions")), { model: q.model, primary: q.primary, shadow: q.shadow, ...windowParams(q.window) });
  const side = async (version: string) => {
    const calibrator = calibratorFor((await versionInfo(store, q.model, version)).baseline);
    const sum = new CbpeSum();
    for (const r of rows) if (r.version === version && calibrator) sum.add(calibrator, Number(r.conf), Number(r.rows));
    return { requests: rows.filter((r) => r.version === version).reduce((a, r) => a + Number(r.rows), 0), accuracy: sum.result()?.accuracy ?? null };
  };
  const [primary, shadow] = await Promise.all([side(q.primary), side(q.shadow)]);
  return { requests: shadow.requests, primary: primary.accuracy, shadow: shadow.accuracy };
}
