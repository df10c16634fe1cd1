import { z } from "zod";
import { ioMappingSchema } from "./import/io-mapping.ts";

/** The contract between a model version and everything that feeds or reads it. */
export const featureSpecSchema = z.discriminatedUnion("type", [
  z.object({ name: z.string().min(1), type: z.literal("numeric") }),
  z.object({ name: z.string().min(1), type: z.literal("categorical"), categories: z.array(z.string()).min(1) }),
]);
export type FeatureSpec = z.infer<typeof featureSpecSchema>;
export type NumericFeature = Extract<FeatureSpec, { type: "numeric" }>;
export type CategoricalFeature = Extract<FeatureSpec, { type: "categorical" }>;

export const modelSchemaSchema = z.object({
  features: z.array(featureSpecSchema).min(1),
  /** Class labels in the order of the model's probability outputs. */
  classes: z.array(z.string()).min(2),
  label: z.string().min(1),
  /** Only on imported versions: how features map onto the graph's inputs and which output holds the scores. */
  io: ioMappingSchema.optional(),
});
export type ModelSchema = z.infer<typeof modelSchemaSchema>;

/** One input row: features by name. `null` means missing. */
export type FeatureValue = number | string | null;
export type Row = Record<string, FeatureValue>;

/** A labelled example: the row plus the index of its class in `schema.classes`. */
export interface Example {
  row: Row;
  label: number;
}

export interface Dataset {
  name: string;
  schema: ModelSchema;
  examples: Example[];
}
