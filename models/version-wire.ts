import { z } from "zod";
import type { ModelBaseline } from "./baseline.ts";
import type { NewVersion } from "./registry.ts";
import { modelSchemaSchema } from "./schema.ts";

/**
 * A new version as JSON: what `mlwatch train` and `models import` send to a running `serve` that
 * owns the store (POST /v1/admin/models/:name/versions), so a version is added without downtime.
 * The artifact travels as base64; the baseline is checked field by field, and against the schema
 * by registerVersion.
 */
const numbers = z.array(z.number());
const featureBaselineSchema = z.discriminatedUnion("type", [
  z.object({ name: z.string(), type: z.literal("numeric"), count: z.number(), missing: z.number(), mean: z.number(), std: z.number(), min: z.number(), max: z.number(), edges: numbers, counts: numbers, sample: numbers }),
  z.object({ name: z.string(), type: z.literal("categorical"), count: z.number(), missing: z.number(), categories: z.array(z.string()), counts: numbers }),
]);
const baselineSchema = z.object({
  size: z.number(),
  features: z.array(featureBaselineSchema),
  predictionCounts: numbers,
  labelCounts: numbers,
  accuracy: z.number(),
  confidenceEdges: numbers,
  confidenceCounts: numbers,
  calibration: z.object({ confidence: numbers, correct: numbers }),
}) satisfies z.ZodType<ModelBaseline>;

export const versionWireSchema = z
  .object({
    kind: z.enum(["logistic", "mlp", "imported"]),
    onnx: z.base64().min(1),
    schema: modelSchemaSchema,
    metrics: z.record(z.string(), z.unknown()),
    trainingData: z.record(z.string(), z.unknown()),
    baseline: baselineSchema,
    tags: z.array(z.string().max(64)).max(16).optional(),
    actor: z.string().min(1).max(128).optional(),
    reference: z.array(z.object({ row: z.record(z.string(), z.union([z.number(), z.string(), z.null()])), label: z.number().int().min(0) })).optional(),
  })
  .strict();
export type VersionWire = z.infer<typeof versionWireSchema>;

export function versionToWire(v: NewVersion): VersionWire {
  const { model: _model, onnx, reference, ...rest } = v;
  return { ...rest, kind: rest.kind as VersionWire["kind"], onnx: Buffer.from(onnx).toString("base64"), ...(reference ? { reference: [...reference] } : {}) };
}

export function versionFromWire(model: string, w: VersionWire): NewVersion {
  return { ...w, model, onnx: Buffer.from(w.onnx, "base64") };
}
