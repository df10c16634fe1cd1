import { z } from "zod";

/** Element types mlwatch can build a tensor of; anything else in a graph input is refused at import. */
export const inputDtypes = ["float32", "float64", "int64", "int32", "string"] as const;
export type InputDtype = (typeof inputDtypes)[number];

/**
 * One graph input fed as [N, columns]: its features in column order. A numeric feature takes one
 * column; a categorical one takes one column holding the category in a string tensor, or one
 * one-hot column per known category in a numeric tensor (an unseen or missing category is all zeros,
 * as scikit-learn's OneHotEncoder(handle_unknown="ignore") encodes it).
 */
export const ioInputSchema = z.object({
  name: z.string().min(1),
  dtype: z.enum(inputDtypes),
  features: z.array(z.string().min(1)).min(1),
});
export type IoInput = z.infer<typeof ioInputSchema>;

/** Which graph output holds the class scores and how to read them; `label` is recorded, never fetched. */
export const ioOutputsSchema = z
  .object({
    probabilities: z.string().min(1).optional(),
    logits: z.string().min(1).optional(),
    label: z.string().min(1).optional(),
  })
  .refine((o) => (o.probabilities === undefined) !== (o.logits === undefined), "exactly one of probabilities or logits");
export type IoOutputs = z.infer<typeof ioOutputsSchema>;

/**
 * How rows reach a model that mlwatch did not train: present only on imported versions. A version
 * without it is native: one float input built by models/encode.ts and a probability output.
 */
export const ioMappingSchema = z.object({
  inputs: z.array(ioInputSchema).min(1),
  outputs: ioOutputsSchema,
});
export type IoMapping = z.infer<typeof ioMappingSchema>;

/** The output to fetch and whether its scores still need softmax / sigmoid. */
export function scoreOutput(outputs: IoOutputs): { name: string; kind: "probabilities" | "logits" } {
  return outputs.logits !== undefined ? { name: outputs.logits, kind: "logits" } : { name: outputs.probabilities!, kind: "probabilities" };
}
