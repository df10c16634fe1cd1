import ort from "onnxruntime-node";
import { ImportError } from "./errors.ts";

/**
 * Opens the graph in onnxruntime, the same way serving will: what onnxruntime cannot run (an
 * opset newer than it knows, an operator it lacks, a custom domain) is refused here with its
 * reason in one line, instead of a C++ source location and signature.
 */
export async function openSession(bytes: Uint8Array, file: string): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (err) {
    throw new ImportError(`${file}: onnxruntime ${ort.env.versions.common} cannot run this model: ${runtimeReason(err)}`);
  }
}

export function runtimeReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const opset = /Opset (\d+) is under development.*domain (\S+) is till opset (\d+)/s.exec(message);
  if (opset) return `opset ${opset[1]} of domain ${opset[2]} is newer than it supports (up to ${opset[3]})`;
  const missingOp = /No Op registered for (\S+) with domain_version of (\d+)/.exec(message);
  if (missingOp) return `no operator ${missingOp[1]} at opset ${missingOp[2]}`;
  const customOp = /([\w.]+:\w+)\(-?\d+\) is not a registered function\/op/.exec(message);
  if (customOp) return `operator ${customOp[1]} is not registered (a custom operator?)`;
  // Drop "/onnxruntime_src/…h:46 void onnxruntime::…(…) " prefixes and keep the first line.
  return message.replace(/^Error:\s*/, "").replace(/^\/onnxruntime_src\/\S+ .*?\) /, "").split("\n")[0]!.trim();
}
