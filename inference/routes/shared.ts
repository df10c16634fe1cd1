// What several routes share, defined once.
import { z } from "zod";
import { jsonSchemaOf } from "../../http/openapi.ts";
import { lifecycleStatuses } from "../../models/registry.ts";
import { modelSchemaSchema } from "../../models/schema.ts";
import type { Store } from "../../store/client.ts";

/** A row of the demo model `credit` (mlwatch demo), for the document's examples. */
export const EXAMPLE_ROW = { age: 41, income: 52000, debt_ratio: 0.31, credit_lines: 4, late_payments: 0, employment: "salaried", region: "north", loan_purpose: "car" };

const modelParamsSchema = z.object({ name: z.string().max(64).meta({ examples: ["credit"] }) });
/** The path parameter every per-model route takes: the JSON Schema its routes declare, and its type. */
export const modelParams = jsonSchemaOf(modelParamsSchema, "input");
export type ModelParams = z.infer<typeof modelParamsSchema>;

/** A registered version (models/registry.ts ModelVersion) as the admin routes send it. */
export const modelVersionSchema = z.object({
  model: z.string(),
  version: z.string(),
  kind: z.string(),
  status: z.enum(lifecycleStatuses),
  createdAt: z.string(),
  sha256: z.string(),
  artifact: z.string().describe("Where the ONNX file (an ensemble: its ensemble.json) is stored"),
  schema: modelSchemaSchema,
  metrics: z.record(z.string(), z.unknown()),
  trainingData: z.record(z.string(), z.unknown()),
  tags: z.array(z.string()),
});

/** The options of the routes that register a version: register-version.ts and register-ensemble.ts. */
export interface RegistrationRoutesOptions {
  store: Store;
  modelDir: string;
  adminToken: string | undefined;
}
