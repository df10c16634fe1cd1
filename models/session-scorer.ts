import ort from "onnxruntime-node";
import { encodedWidth, encodeRows } from "./encode.ts";
import { ioScorer, type Scorer } from "./import/io-scorer.ts";
import type { ModelSchema } from "./schema.ts";

/**
 * A version's onnxruntime session behind the Scorer serving uses, for code outside inference/ (the
 * MCP server's explanations, importance at registration). It scores exactly as inference/sessions.ts
 * does: the same encoding and imputation and, for imported graphs, the same io mapping.
 */
export function sessionScorer(session: ort.InferenceSession, schema: ModelSchema, fill: readonly number[], label: string): Scorer {
  return schema.io ? ioScorer(session, schema, fill) : nativeScorer(session, schema, fill, label);
}

/** An onnxruntime session with the options serving opens versions with. */
export function openSessionOf(onnx: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(onnx, { intraOpNumThreads: 1, interOpNumThreads: 1 });
}

function nativeScorer(session: ort.InferenceSession, schema: ModelSchema, fill: readonly number[], label: string): Scorer {
  const inputName = session.inputNames[0];
  const outputName = session.outputNames.includes("probabilities") ? "probabilities" : session.outputNames[0];
  if (!inputName || !outputName) throw new Error(`${label} has no input or output`);
  const width = encodedWidth(schema);
  return {
    width,
    encode: (rows) => encodeRows(rows, schema, fill),
    async run(encoded, rows) {
      const out = await session.run({ [inputName]: new ort.Tensor("float32", encoded, [rows, width]) }, [outputName]);
      return out[outputName]!.data as Float32Array;
    },
  };
}
