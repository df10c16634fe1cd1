import { z } from "zod";
import { argmax } from "./evaluate.ts";
import type { Scorer } from "./import/io-scorer.ts";
import type { ModelVersion } from "./registry.ts";
import type { ModelSchema } from "./schema.ts";

export const ensembleMethods = ["mean", "weighted", "vote"] as const;
export type EnsembleMethod = (typeof ensembleMethods)[number];

/**
 * What an ensemble version is: its members (registered versions of the same model) and how their
 * probabilities combine. Stored as the version's artifact (ensemble.json, hashed like an ONNX
 * file); serving loads each member through the same session cache as the member's own version.
 */
export const ensembleSpecSchema = z
  .object({
    method: z.enum(ensembleMethods).describe("mean of the members' probabilities, their weighted mean, or majority vote (probabilities = vote shares; a tie goes to the earlier class)"),
    members: z
      .array(z.object({ version: z.string().min(1).max(64), weight: z.number().min(0.001).max(1000).optional().describe("weighted only: the member's weight, 0.001 to 1000") }).strict())
      .min(2)
      .max(8),
  })
  .strict();
export type EnsembleSpec = z.infer<typeof ensembleSpecSchema>;

/** An ensemble refused: `field` names the request field at fault (as the admin API body spells it). */
export class EnsembleError extends Error {
  readonly field: string;

  constructor(message: string, field: string) {
    super(message);
    this.field = field;
  }
}

/**
 * The ensemble's schema, once the members agree on it: the same features (names, types, categories,
 * in order), the same classes in the same order, the same label. Imported members keep their own io
 * mapping; the ensemble itself has none.
 */
export function ensembleSchema(spec: EnsembleSpec, members: readonly ModelVersion[]): ModelSchema {
  checkWeights(spec);
  const seen = new Set<string>();
  spec.members.forEach((m, i) => {
    if (seen.has(m.version)) throw new EnsembleError(`version ${m.version} is named twice; each member counts once (use method 'weighted' to count one more)`, `members.${i}.version`);
    seen.add(m.version);
  });
  const first = members[0]!;
  members.forEach((m, i) => {
    const field = `members.${i}.version`;
    if (featureKey(m.schema) !== featureKey(first.schema)) {
      throw new EnsembleError(`version ${m.version}'s features (${featureKey(m.schema)}) differ from version ${first.version}'s (${featureKey(first.schema)}); an ensemble's members share one schema`, field);
    }
    if (m.schema.classes.join(",") !== first.schema.classes.join(",")) {
      throw new EnsembleError(`version ${m.version}'s classes [${m.schema.classes.join(", ")}] differ from version ${first.version}'s [${first.schema.classes.join(", ")}]`, field);
    }
    if (m.schema.label !== first.schema.label) throw new EnsembleError(`version ${m.version} predicts '${m.schema.label}', version ${first.version} '${first.schema.label}'`, field);
  });
  return { features: first.schema.features, classes: first.schema.classes, label: first.schema.label };
}

function checkWeights(spec: EnsembleSpec): void {
  spec.members.forEach((m, i) => {
    if (spec.method === "weighted" && m.weight === undefined) throw new EnsembleError("method 'weighted' needs a weight for every member", `members.${i}.weight`);
    if (spec.method !== "weighted" && m.weight !== undefined) throw new EnsembleError(`weights apply to method 'weighted', not '${spec.method}'`, `members.${i}.weight`);
  });
}

function featureKey(schema: ModelSchema): string {
  return schema.features.map((f) => (f.type === "categorical" ? `${f.name}:categorical[${f.categories.join("|")}]` : `${f.name}:numeric`)).join(", ");
}

/** Row-major [rows, classes] from each member's output of the same shape. */
export function combine(spec: EnsembleSpec, outputs: readonly Float32Array[], rows: number, classes: number): Float32Array {
  const out = new Float32Array(rows * classes);
  if (spec.method === "vote") {
    for (const p of outputs) for (let r = 0; r < rows; r++) out[r * classes + argmax(p, r * classes, classes)]! += 1 / outputs.length;
    return out;
  }
  const weights = spec.members.map((m) => (spec.method === "weighted" ? m.weight! : 1));
  const total = weights.reduce((a, b) => a + b, 0);
  outputs.forEach((p, k) => {
    const w = weights[k]! / total;
    for (let i = 0; i < out.length; i++) out[i]! += w * p[i]!;
  });
  return out;
}

/**
 * The ensemble as one Scorer, so the micro-batcher, logging and drift see a version like any other.
 * An encoded row is the members' encoded rows side by side; a batch is split back per member, each
 * member scores its part with its own session, and the outputs combine.
 */
export function ensembleScorer(spec: EnsembleSpec, members: readonly Scorer[], classes: number): Scorer {
  const offsets = members.map((_, k) => members.slice(0, k).reduce((a, m) => a + m.width, 0));
  const width = members.reduce((a, m) => a + m.width, 0);
  return {
    width,
    encode(rows) {
      const out = new Float32Array(rows.length * width);
      members.forEach((m, k) => {
        const part = m.encode(rows);
        for (let r = 0; r < rows.length; r++) out.set(part.subarray(r * m.width, (r + 1) * m.width), r * width + offsets[k]!);
      });
      return out;
    },
    async run(encoded, rows) {
      const outputs = await Promise.all(
        members.map((m, k) => {
          const part = new Float32Array(rows * m.width);
          for (let r = 0; r < rows; r++) part.set(encoded.subarray(r * width + offsets[k]!, r * width + offsets[k]! + m.width), r * m.width);
          return m.run(part, rows);
        }),
      );
      return combine(spec, outputs, rows, classes);
    },
  };
}

/** The artifact's bytes, and back: the spec, validated again on every load. */
export function ensembleArtifact(spec: EnsembleSpec): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(spec, null, 2) + "\n");
}

export function ensembleSpecOf(bytes: Uint8Array): EnsembleSpec {
  return ensembleSpecSchema.parse(JSON.parse(new TextDecoder().decode(bytes)));
}
