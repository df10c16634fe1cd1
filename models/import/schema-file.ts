import fs from "node:fs";
import { z } from "zod";
import { featureSpecSchema } from "../schema.ts";
import { ImportError } from "./errors.ts";

/**
 * The --schema file of `mlwatch models import`. Every part is optional: what the graph states
 * unambiguously (classes from a classifier or ZipMap node, one input per feature named after it,
 * categories from a OneHotEncoder, the one score output) is inferred; see complete-schema.ts.
 */
export const schemaFileSchema = z
  .object({
    features: z.array(featureSpecSchema).min(1).optional(),
    /** In the order of the model's score columns. */
    classes: z.array(z.string().min(1)).min(2).optional(),
    /** Name of the label column in labelled data. */
    label: z.string().min(1).optional(),
    /** Graph input name → the features it takes, in column order. */
    inputs: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)).optional(),
    outputs: z
      .object({ probabilities: z.string().min(1).optional(), logits: z.string().min(1).optional(), label: z.string().min(1).optional() })
      .strict()
      .refine((o) => o.probabilities === undefined || o.logits === undefined, "name probabilities or logits, not both")
      .optional(),
  })
  .strict();
export type SchemaFile = z.infer<typeof schemaFileSchema>;

export function readSchemaFile(file: string): SchemaFile {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new ImportError(`cannot read schema ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ImportError(`${file}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const parsed = schemaFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ImportError(`${file}: ${issue.path.length > 0 ? issue.path.join(".") : "(top level)"}: ${issue.message}`);
  }
  return parsed.data;
}
