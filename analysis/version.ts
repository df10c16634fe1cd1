import type { ModelBaseline } from "../models/baseline.ts";
import { getBaseline, getVersion, listVersions, NoBaselineError, RegistryError, type ModelVersion } from "../models/registry.ts";
import type { Store } from "../store/client.ts";
import { windowCondition, windowParams, type ResolvedWindow } from "./window.ts";

export interface VersionTraffic {
  version: string;
  rows: number;
  primary: number;
  canary: number;
  shadow: number;
}

/**
 * Rows per version and variant. FINAL when the counts are reported; without it (a retried request
 * may count twice) when they only pick a version, which costs a tenth of a FINAL scan.
 */
const TRAFFIC_SQL = (table: string, exact: boolean) => `
  SELECT version, count() AS rows, countIf(variant = 'primary') AS primary,
         countIf(variant = 'canary') AS canary, countIf(variant = 'shadow') AS shadow
  FROM ${table} ${exact ? "FINAL" : ""}
  WHERE model = {model:String} AND ${windowCondition()}
  GROUP BY version ORDER BY primary DESC, rows DESC, toUInt64OrZero(version) DESC`;

/** Rows per version and variant in the window, most primary traffic first; `exact: false` may count retried rows twice. */
export async function trafficByVersion(store: Store, model: string, w: ResolvedWindow, exact = true): Promise<VersionTraffic[]> {
  const rows = await store.rows<VersionTraffic>(TRAFFIC_SQL(store.table("predictions"), exact), { model, ...windowParams(w) });
  return rows.map((r) => ({
    version: r.version,
    rows: Number(r.rows),
    primary: Number(r.primary),
    canary: Number(r.canary),
    shadow: Number(r.shadow),
  }));
}

export interface VersionChoice {
  version: string;
  chosenBy: "requested" | "most primary traffic in the window" | "most rows in the window" | "production version" | "latest version";
  traffic: VersionTraffic[];
}

/**
 * The version an analysis reads: the caller's, else the one that served most primary traffic in
 * the window, else the one with most rows there, else the registry's production or latest version.
 * `traffic` is exact (FINAL) unless exactTraffic is false; then it is empty for a requested version.
 */
export async function chooseVersion(
  store: Store,
  model: string,
  w: ResolvedWindow,
  requested?: string,
  options: { exactTraffic?: boolean } = {},
): Promise<VersionChoice> {
  const exact = options.exactTraffic ?? true;
  if (requested !== undefined) {
    const [traffic] = await Promise.all([exact ? trafficByVersion(store, model, w) : Promise.resolve([]), versionInfo(store, model, requested)]);
    return { version: requested, chosenBy: "requested", traffic };
  }
  const traffic = await trafficByVersion(store, model, w, exact);
  const top = traffic[0];
  if (top && top.primary > 0) return { version: top.version, chosenBy: "most primary traffic in the window", traffic };
  const busiest = [...traffic].sort((a, b) => b.rows - a.rows)[0];
  if (busiest) return { version: busiest.version, chosenBy: "most rows in the window", traffic };
  const versions = await modelVersions(store, model);
  const production = versions.find((v) => v.status === "production");
  if (production) return { version: production.version, chosenBy: "production version", traffic };
  return { version: versions[versions.length - 1]!.version, chosenBy: "latest version", traffic };
}

/** Every registered version of a model; an unknown model is an error. */
export async function modelVersions(store: Store, model: string): Promise<ModelVersion[]> {
  const versions = await listVersions(store, model);
  if (versions.length === 0) throw new RegistryError(`unknown model '${model}'`);
  return versions;
}

export interface VersionInfo {
  meta: ModelVersion;
  /** Null only for a version registered without one (registerVersion always writes it). */
  baseline: ModelBaseline | null;
}

// A registered version's schema and baseline never change (a new registration is a new version),
// so they are read once per store and process.
const cache = new WeakMap<Store, Map<string, Promise<VersionInfo>>>();
const CACHE_LIMIT = 256;

/** A version's registry entry and baseline, cached; an unknown model or version fails naming the known ones. */
export function versionInfo(store: Store, model: string, version: string): Promise<VersionInfo> {
  let byKey = cache.get(store);
  if (!byKey) cache.set(store, (byKey = new Map()));
  const key = `${model}\u0000${version}`;
  let entry = byKey.get(key);
  if (!entry) {
    const baseline = getBaseline(store, model, version).catch((err: unknown) => {
      if (err instanceof NoBaselineError) return null;
      throw err;
    });
    entry = Promise.all([getVersion(store, model, version), baseline]).then(([meta, b]) => ({ meta, baseline: b }));
    entry.catch(() => byKey.delete(key));
    if (byKey.size >= CACHE_LIMIT) byKey.delete(byKey.keys().next().value!);
    byKey.set(key, entry);
  }
  return entry;
}

/** The baseline, or an error saying the analysis needs one. */
export function requireBaseline(info: VersionInfo): ModelBaseline {
  if (!info.baseline) throw new NoBaselineError(`model '${info.meta.model}' version ${info.meta.version} has no baseline`);
  return info.baseline;
}
