import { listModels, listVersions } from "../models/registry.ts";
import type { Store } from "../store/client.ts";
import { currentTrafficState, type TrafficState } from "../store/deployments.ts";

export interface ModelOverview {
  model: string;
  versions: { version: string; kind: string; status: string; createdAt: string; heldOutAccuracy: number | null; features: number; classes: string[] }[];
  /** The version whose registry status is production, if any. */
  production: string | null;
  latest: string;
  traffic: TrafficState;
  lastHour: { rows: number; errors: number; byVersion: { version: string; variant: string; rows: number; errors: number }[] };
}

export interface ModelsOverview {
  models: ModelOverview[];
  /** The last-hour counts cover [from, to). */
  lastHour: { from: string; to: string };
}

/** Prediction counts of the last hour for every model, one pass. */
const LAST_HOUR_SQL = (table: string) => `
  SELECT model, version, variant, count() AS rows, countIf(error != '') AS errors
  FROM ${table} FINAL
  WHERE ts >= fromUnixTimestamp64Micro({fromUs:Int64}) AND ts < fromUnixTimestamp64Micro({toUs:Int64})
  GROUP BY model, version, variant ORDER BY model, version, variant`;

/** Every registered model with its versions, routing state and last hour of traffic. */
export async function listModelsOverview(store: Store, nowUs = Date.now() * 1000): Promise<ModelsOverview> {
  const fromUs = nowUs - 3600e6;
  const [models, counts] = await Promise.all([
    listModels(store),
    store.rows<{ model: string; version: string; variant: string; rows: number; errors: number }>(LAST_HOUR_SQL(store.table("predictions")), { fromUs, toUs: nowUs }),
  ]);
  const overview = await Promise.all(
    models.map(async (m): Promise<ModelOverview> => {
      const [versions, traffic] = await Promise.all([listVersions(store, m.model), currentTrafficState(store, m.model)]);
      const byVersion = counts
        .filter((c) => c.model === m.model)
        .map((c) => ({ version: c.version, variant: c.variant, rows: Number(c.rows), errors: Number(c.errors) }));
      return {
        model: m.model,
        versions: versions.map((v) => ({
          version: v.version,
          kind: v.kind,
          status: v.status,
          createdAt: v.createdAt,
          heldOutAccuracy: typeof v.metrics.accuracy === "number" ? v.metrics.accuracy : null,
          features: v.schema.features.length,
          classes: v.schema.classes,
        })),
        production: m.production || null,
        latest: m.latest,
        traffic: traffic.state,
        lastHour: { rows: byVersion.reduce((a, b) => a + b.rows, 0), errors: byVersion.reduce((a, b) => a + b.errors, 0), byVersion },
      };
    }),
  );
  return { models: overview, lastHour: { from: new Date(fromUs / 1000).toISOString(), to: new Date(nowUs / 1000).toISOString() } };
}
