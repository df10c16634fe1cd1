import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { Store } from "../store/client.ts";
import { nowMicros } from "../store/clock.ts";
import { baselinesTable, modelVersionsTable } from "../store/tables.ts";
import type { FeatureBaseline, ModelBaseline } from "./baseline.ts";
import { recordDeploymentEvent } from "../store/deployments.ts";
import { versionImportance, withImportance, type Importances } from "./importance.ts";
import { storeReferenceSample } from "./reference-sample.ts";
import { modelSchemaSchema, type Example, type ModelSchema } from "./schema.ts";

export const MODEL_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const modelNameSchema = z.string().regex(MODEL_NAME, "lowercase letters, digits, '-' or '_', at most 64");
export const lifecycleStatuses = ["staging", "production", "shadow", "canary", "archived"] as const;
export type LifecycleStatus = (typeof lifecycleStatuses)[number];

export interface ModelVersion {
  model: string;
  version: string;
  kind: string;
  status: LifecycleStatus;
  createdAt: string;
  sha256: string;
  artifact: string;
  schema: ModelSchema;
  metrics: Record<string, unknown>;
  trainingData: Record<string, unknown>;
  tags: string[];
}

export interface NewVersion {
  model: string;
  kind: string;
  /** The artifact: an ONNX graph, or for kind "ensemble" its spec (models/ensemble.ts). */
  onnx: Uint8Array;
  schema: ModelSchema;
  metrics: Record<string, unknown>;
  trainingData: Record<string, unknown>;
  baseline: ModelBaseline;
  tags?: string[];
  actor?: string;
  /** Labelled examples the version learnt from (or was judged on): a bounded sample is kept for retraining. */
  reference?: readonly Example[];
  /** Importances already measured (an ensemble's, through its members' sessions); otherwise measured here from `onnx`. */
  importance?: Importances | null;
}

export class RegistryError extends Error {}

/** The version is registered but no baseline was written for it. */
export class NoBaselineError extends RegistryError {}

interface VersionRow {
  model: string;
  version: string;
  kind: string;
  status: LifecycleStatus;
  created_at: string;
  sha256: string;
  artifact: string;
  schema: string;
  metrics: string;
  training_data: string;
  tags: string[];
}

/**
 * Writes the artifact first and the registry row last, so a failure in between leaves no visible
 * version; the row is what makes a version exist for every replica. Every way in (train, import,
 * retrain, the admin API) comes through here, so every new version gets its features' permutation
 * importance on its reference examples, stored in its baseline.
 */
export async function registerVersion(store: Store, modelDir: string, input: NewVersion): Promise<ModelVersion> {
  const model = modelNameSchema.parse(input.model);
  const schema = modelSchemaSchema.parse(input.schema);
  checkBaselineMatches(schema, input.baseline);
  const baseline = withImportance(input.baseline, input.importance !== undefined ? input.importance : await importanceOf(input, schema));
  const version = String((await latestVersionNumber(store, model)) + 1);
  const artifact = writeArtifact(modelDir, model, version, input.onnx, input.kind === "ensemble" ? "ensemble.json" : "model.onnx");
  const now = nowMicros();
  try {
    await store.insert(baselinesTable.name, baselineRows(model, version, baseline, now));
    if (input.reference) await storeReferenceSample(store, model, version, schema, input.reference, Number(version));
    const row = {
      model,
      version,
      kind: input.kind,
      status: "staging",
      created_at: now,
      updated_at: now,
      sha256: sha256(input.onnx),
      artifact,
      schema: JSON.stringify(schema),
      metrics: JSON.stringify(input.metrics),
      training_data: JSON.stringify(input.trainingData),
      tags: input.tags ?? [],
    };
    await store.insert(modelVersionsTable.name, [row]);
    await recordDeploymentEvent(store, {
      model,
      action: "register",
      version,
      actor: input.actor ?? "cli",
      reason: `registered ${input.kind} model`,
    });
  } catch (err) {
    fs.rmSync(path.dirname(artifact), { recursive: true, force: true });
    throw err;
  }
  return getVersion(store, model, version);
}

export async function listVersions(store: Store, model: string): Promise<ModelVersion[]> {
  const rows = await store.rows<VersionRow>(
    `SELECT * EXCEPT updated_at FROM ${store.table(modelVersionsTable.name)} FINAL
     WHERE model = {model:String} ORDER BY toUInt64OrZero(version)`,
    { model },
  );
  return rows.map(toVersion);
}

export async function listModels(store: Store): Promise<{ model: string; versions: number; latest: string; production: string }[]> {
  return store.rows(
    `SELECT model, count() AS versions, argMax(version, toUInt64OrZero(version)) AS latest,
            anyIf(version, status = 'production') AS production
     FROM ${store.table(modelVersionsTable.name)} FINAL GROUP BY model ORDER BY model`,
  );
}

export async function getVersion(store: Store, model: string, version: string): Promise<ModelVersion> {
  const rows = await store.rows<VersionRow>(
    `SELECT * EXCEPT updated_at FROM ${store.table(modelVersionsTable.name)} FINAL
     WHERE model = {model:String} AND version = {version:String}`,
    { model, version },
  );
  const row = rows[0];
  if (!row) {
    const known = (await listVersions(store, model)).map((v) => v.version);
    throw new RegistryError(
      known.length === 0 ? `unknown model '${model}'` : `unknown version '${version}' of model '${model}' (known: ${known.join(", ")})`,
    );
  }
  return toVersion(row);
}

export async function setStatus(store: Store, model: string, version: string, status: LifecycleStatus): Promise<void> {
  const current = await getVersion(store, model, version);
  await store.insert(modelVersionsTable.name, [
    {
      model,
      version,
      kind: current.kind,
      status,
      created_at: Date.parse(current.createdAt + "Z") * 1000,
      updated_at: nowMicros(),
      sha256: current.sha256,
      artifact: current.artifact,
      schema: JSON.stringify(current.schema),
      metrics: JSON.stringify(current.metrics),
      training_data: JSON.stringify(current.trainingData),
      tags: current.tags,
    },
  ]);
}

/** The ONNX bytes, refused unless they still hash to what was registered. */
export function loadArtifact(version: ModelVersion): Uint8Array {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(version.artifact);
  } catch {
    throw new RegistryError(`model '${version.model}' version ${version.version}: artifact missing at ${version.artifact}`);
  }
  const actual = sha256(bytes);
  if (actual !== version.sha256) {
    throw new RegistryError(
      `model '${version.model}' version ${version.version}: sha256 mismatch at ${version.artifact} (registered ${version.sha256.slice(0, 12)}…, found ${actual.slice(0, 12)}…); refusing to load`,
    );
  }
  return bytes;
}

export async function getBaseline(store: Store, model: string, version: string): Promise<ModelBaseline> {
  const rows = await store.rows<{ feature: string; stats: string }>(
    `SELECT feature, stats FROM ${store.table(baselinesTable.name)} FINAL
     WHERE model = {model:String} AND version = {version:String} ORDER BY feature_index`,
    { model, version },
  );
  const modelLevel = rows.find((r) => r.feature === "");
  if (!modelLevel) throw new NoBaselineError(`no baseline for model '${model}' version ${version}`);
  const features = rows.filter((r) => r.feature !== "").map((r) => JSON.parse(r.stats) as FeatureBaseline);
  return { ...(JSON.parse(modelLevel.stats) as Omit<ModelBaseline, "features">), features };
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function latestVersionNumber(store: Store, model: string): Promise<number> {
  const [row] = await store.rows<{ n: number }>(
    `SELECT max(toUInt64OrZero(version)) AS n FROM ${store.table(modelVersionsTable.name)} WHERE model = {model:String}`,
    { model },
  );
  return Number(row?.n ?? 0);
}

/** A model that cannot score its own reference examples would fail on its first request too: refused here, saying why. */
async function importanceOf(input: NewVersion, schema: ModelSchema) {
  try {
    return await versionImportance(input.onnx, schema, input.baseline, input.reference);
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    throw new RegistryError(`the model cannot score its reference examples under its schema (${reason}); nothing was registered`);
  }
}

function checkBaselineMatches(schema: ModelSchema, baseline: ModelBaseline): void {
  const expected = schema.features.map((f) => `${f.name}:${f.type}`).join(",");
  const actual = baseline.features.map((f) => `${f.name}:${f.type}`).join(",");
  if (expected !== actual) throw new RegistryError(`baseline features (${actual}) do not match the schema (${expected})`);
}

function writeArtifact(modelDir: string, model: string, version: string, onnx: Uint8Array, name: string): string {
  const dir = path.join(modelDir, model, version);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  const tmp = `${file}.${randomUUID()}.tmp`;
  fs.writeFileSync(tmp, onnx);
  fs.renameSync(tmp, file);
  return file;
}

function baselineRows(model: string, version: string, baseline: ModelBaseline, now: number) {
  const { features, ...modelLevel } = baseline;
  return [
    { model, version, feature: "", feature_index: -1, stats: JSON.stringify(modelLevel), created_at: now },
    ...features.map((f, i) => ({ model, version, feature: f.name, feature_index: i, stats: JSON.stringify(f), created_at: now })),
  ];
}

function toVersion(row: VersionRow): ModelVersion {
  return {
    model: row.model,
    version: row.version,
    kind: row.kind,
    status: row.status,
    createdAt: row.created_at,
    sha256: row.sha256,
    artifact: row.artifact,
    schema: modelSchemaSchema.parse(JSON.parse(row.schema)),
    metrics: JSON.parse(row.metrics) as Record<string, unknown>,
    trainingData: JSON.parse(row.training_data) as Record<string, unknown>,
    tags: row.tags,
  };
}
