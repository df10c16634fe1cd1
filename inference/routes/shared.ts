// What several routes' schemas share, defined once.
import { z } from "zod";
import { lifecycleStatuses } from "../../models/registry.ts";
import { modelSchemaSchema } from "../../models/schema.ts";

/** A row of the demo model `credit` (mlwatch demo), for the document's examples. */
export const EXAMPLE_ROW = { age: 41, income: 52000, debt_ratio: 0.31, credit_lines: 4, late_payments: 0, employment: "salaried", region: "north", loan_purpose: "car" };

/** The path parameter every per-model route takes. */
export const modelParams = { type: "object", properties: { name: { type: "string", maxLength: 64, examples: ["credit"] } }, required: ["name"] } as const;

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
