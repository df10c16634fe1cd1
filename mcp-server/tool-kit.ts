import type { AuthInfo, CallToolResult, McpServer, ServerContext, ToolAnnotations, ToolCallback } from "@modelcontextprotocol/server";
import type { z } from "zod";
import type { ToolDeps } from "./deps.ts";
import { DriftOptionsError } from "../analysis/drift-options.ts";
import { LogQueryError } from "../analysis/logs.ts";
import { UnknownFeatureError } from "../analysis/schema-index.ts";
import { WindowError } from "../analysis/window.ts";
import { UnknownIncidentError } from "../incidents/incident-store.ts";
import { ExplainInputError } from "../models/explain/check-row.ts";
import { RegistryError } from "../models/registry.ts";
import { PlanError } from "../rollout/plan.ts";
import { ProposalError } from "../rollout/proposals.ts";
import { TrafficChangeError } from "../rollout/traffic-changes.ts";
import { withDeadline } from "./limits.ts";
import { DeadlineError } from "./tool-error.ts";
import type { ToolOutcome } from "./metrics.ts";

export interface ToolContext {
  authInfo: AuthInfo | undefined;
}

export interface ToolSpec<I extends z.ZodObject, O extends z.ZodObject> {
  name: string;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: ToolAnnotations;
  /** What to tell the caller when the deadline passes (default: narrow the query). */
  onDeadline?: string;
  /** `summary` is the one-paragraph finding a person or an LLM reads first; `data` the structured result. */
  run(args: z.output<I>, ctx: ToolContext): Promise<{ summary: string; data: Declared<z.output<O>> }>;
}

/**
 * The output schema's type without the index signatures of loose objects: a result typed by its own
 * interface (the analysis reports) then checks against the fields the schema declares. The SDK checks
 * the whole result against the schema at run time.
 */
export type Declared<T> = T extends readonly (infer U)[]
  ? Declared<U>[]
  : T extends object
    ? { [K in keyof T as string extends K ? never : K]: Declared<T[K]> }
    : T;

/**
 * Registers one tool with the limits every tool shares: a deadline per call, a cap on the JSON it
 * returns, and failures as tool errors (`isError`, one clear line) rather than protocol errors, so
 * the model reading them can correct its call. Input validation is the SDK's, against `input`.
 */
export function registerToolSpec<I extends z.ZodObject, O extends z.ZodObject>(server: McpServer, deps: ToolDeps, spec: ToolSpec<I, O>): void {
  server.registerTool(
    spec.name,
    { title: spec.title, description: spec.description, inputSchema: spec.input, outputSchema: spec.output, annotations: spec.annotations },
    // The SDK validated `args` against spec.input; its callback type, conditional on I, stays unresolved here.
    (async (args: z.output<I>, ctx: ServerContext): Promise<CallToolResult> => {
      const count = (outcome: ToolOutcome) => deps.metrics?.toolCalls.inc({ tool: spec.name, outcome });
      try {
        const { summary, data } = await withDeadline(
          deps.limits.callTimeoutMs,
          ctx.mcpReq.signal,
          spec.name,
          () => spec.run(args, { authInfo: ctx.http?.authInfo }),
          spec.onDeadline,
        );
        const json = JSON.stringify(data);
        const bytes = Buffer.byteLength(json);
        if (bytes > deps.limits.maxResponseBytes) {
          count("too_large");
          return toolError(
            `${spec.name}: the result is ${Math.ceil(bytes / 1024)} KB, over the ${Math.floor(deps.limits.maxResponseBytes / 1024)} KB limit (MLWATCH_MCP_MAX_RESPONSE_BYTES); narrow the window, the filters or the limit`,
          );
        }
        count("ok");
        // The JSON also goes as text: clients that ignore structuredContent still see the data.
        return { content: [{ type: "text", text: summary }, { type: "text", text: json }], structuredContent: data as Record<string, unknown> };
      } catch (err) {
        count(outcomeOf(err));
        return toolError(messageOf(err));
      }
    }) as ToolCallback<I>,
  );
}

/** Errors the server raises to turn a request down with its reason: what the caller asked is invalid or not allowed. */
const REFUSALS = [ProposalError, PlanError, TrafficChangeError, WindowError, LogQueryError, UnknownFeatureError, RegistryError, ExplainInputError, DriftOptionsError, UnknownIncidentError];

function outcomeOf(err: unknown): ToolOutcome {
  if (err instanceof DeadlineError) return "timeout";
  return REFUSALS.some((E) => err instanceof E) ? "refused" : "error";
}

export function toolError(message: string): CallToolResult {
  return { isError: true, content: [{ type: "text", text: message }] };
}

/** One line, bounded: store errors can carry a whole query and stack. */
export function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const line = text.split("\n")[0]!.trim();
  return line.length > 600 ? `${line.slice(0, 600)}…` : line;
}

export const readOnly: ToolAnnotations = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
