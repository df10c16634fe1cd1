import type { SwaggerTransform } from "@fastify/swagger";
import { z } from "zod";

/**
 * How every door of mlwatch describes itself in the served OpenAPI document: the error envelope,
 * the bearer credentials, and JSON Schemas derived from the zod schemas the routes already parse
 * with. Fastify serializes each answer with its response schema, so a schema here must name every
 * field the route sends; a missing one would be dropped from the answer.
 */

/** One spelling of the error envelope every route answers a refusal with (inference/http-errors.ts). */
export const errorEnvelopeSchema = z.object({
  error: z.string().describe("A stable code: invalid_request, not_found, unauthorized, forbidden, conflict, …"),
  field: z.string().optional().describe("What was wrong, as a path: body.version, instances[0].age, authorization"),
  reason: z.string().describe("Why, in a sentence a caller can act on"),
  errors: z.array(z.object({ field: z.string(), reason: z.string(), code: z.string() })).optional().describe("Every refused feature value, when there are several"),
});

/** The credentials the doors take, each a bearer token set in the serving process's environment. */
export const securitySchemes = {
  adminToken: bearer(
    "MLWATCH_ADMIN_TOKEN: traffic changes, registrations, fault injection. With no admin token configured the service listens on loopback only and admits loopback callers without one.",
  ),
  mcpToken: bearer("MLWATCH_MCP_TOKEN: an agent or any MCP client on /mcp. With none configured, /mcp serves loopback clients without a token."),
  approverToken: bearer("MLWATCH_APPROVER_TOKEN: a person's approvals (/v1/approvals); also accepted on /mcp, where it makes the caller an approver."),
  alertToken: bearer("MLWATCH_ALERT_TOKEN: Alertmanager's webhook. With none configured, alerts are accepted from loopback only."),
} as const;
export type SecurityScheme = keyof typeof securitySchemes;

/** An operation's `security`: any one of the named schemes; none for a public route. */
export function requires(...schemes: SecurityScheme[]): Record<string, string[]>[] {
  return schemes.map((s) => ({ [s]: [] }));
}

/** Tags group the operations in the document and its UI. */
export const tags = [
  { name: "inference", description: "Scoring, ground-truth feedback and explanations" },
  { name: "audit", description: "What was served: summaries and the newest logged predictions" },
  { name: "admin", description: "Traffic changes, versions and fault injection (admin token)" },
  { name: "jobs", description: "Batch scoring of CSV files at low priority: submit, status, result, cancel (admin token)" },
  { name: "approvals", description: "A person's decisions on proposed actions (approver token)" },
  { name: "mcp", description: "The MCP endpoint (Streamable HTTP, stateless)" },
  { name: "alerts", description: "Alertmanager's webhook, which starts agent investigations" },
  { name: "health", description: "Liveness and readiness" },
] as const;
export type Tag = (typeof tags)[number]["name"];

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "Refused: the field named is missing, malformed or not allowed",
  401: "No bearer token (or not a bearer Authorization header)",
  403: "Wrong token, or a caller this door does not admit",
  404: "Unknown model, version or id",
  409: "Conflict with the current state (re-read it and decide again), or a job result that is not ready",
  413: "Body too large",
  415: "Unsupported content type; send application/json",
  500: "Internal error; see the service log",
  503: "Not available now: no deployed version loaded, the log cannot take rows, or overloaded (MLWATCH_MAX_IN_FLIGHT requests in flight; Retry-After says when to try again)",
};

/** Response entries for the refusals a route can answer, each with the error envelope. */
export function errorResponses(...statuses: number[]): Record<number, Record<string, unknown>> {
  const envelope = jsonSchemaOf(errorEnvelopeSchema);
  return Object.fromEntries(statuses.map((s) => [s, { description: ERROR_DESCRIPTIONS[s] ?? `HTTP ${s}`, ...envelope }]));
}

/** A success answer's entry: its description and the JSON Schema of the zod schema it follows. */
export function answer(description: string, schema: z.ZodType): Record<string, unknown> {
  return { description, ...jsonSchemaOf(schema) };
}

/**
 * Draft-07 JSON Schema of a zod schema, as Fastify's validator and serializer and @fastify/swagger
 * read it. A record's `propertyNames: {type: "string"}` says nothing JSON keys are not already, and
 * OpenAPI 3.0 has no such keyword, so it is left out.
 */
export function jsonSchemaOf(schema: z.ZodType, io: "input" | "output" = "output"): Record<string, unknown> {
  const override = ({ jsonSchema }: { jsonSchema: Record<string, unknown> }) => {
    const names = jsonSchema.propertyNames as Record<string, unknown> | undefined;
    if (names && Object.keys(names).length === 1 && names.type === "string") delete jsonSchema.propertyNames;
  };
  const { $schema: _, ...json } = z.toJSONSchema(schema, { target: "draft-7", io, override }) as Record<string, unknown>;
  return json;
}

function bearer(description: string) {
  return { type: "http", scheme: "bearer", description } as const;
}

/**
 * Route config documenting a body that the handler parses with zod itself, answering its own 400s,
 * so Fastify must not validate it first: the schema goes to the document only.
 */
export function documentedBody(schema: z.ZodType, examples: readonly unknown[]): { swaggerTransform: SwaggerTransform } {
  const body = { ...jsonSchemaOf(schema, "input"), examples };
  return { swaggerTransform: ({ schema: route, url }) => ({ schema: { ...route, body }, url }) };
}
