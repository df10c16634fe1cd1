import { z } from "zod";
import { jsonSchemaOf } from "../http/openapi.ts";
import type { TrafficChange } from "./traffic-changes.ts";

/**
 * The admin API's wire format for traffic changes, in one place: each route's body (snake_case, as
 * HTTP clients send it), how a body becomes a TrafficChange and back. The inference service derives
 * its route schemas from these; the admin client encodes with the inverse.
 */
const percent = z.number().min(0).max(100);
const version = z.string().min(1).max(64);

export const auditBodySchema = z.object({
  actor: z.string().min(1).max(200),
  reason: z.string().min(1).max(2000),
  proposal_id: z.string().max(200).optional(),
  approval_id: z.string().max(200).optional(),
  auto_approved: z.boolean().optional(),
  expected_event_id: z.string().max(200).optional().describe("Refuse with 409 unless the newest traffic event is still this one."),
});
export type AuditBody = z.infer<typeof auditBodySchema>;

export const changeBodySchemas = {
  deploy: z.object({ version, role: z.enum(["primary", "shadow", "canary"]), percent: percent.optional() }),
  promote: z.object({ version: version.optional() }),
  rollback: z.object({ version: version.optional() }),
  split: z.object({ canary_percent: percent.optional(), shadow_percent: percent.optional() }),
  remove: z.object({ role: z.enum(["shadow", "canary"]) }),
} as const;
export type AdminRoute = keyof typeof changeBodySchemas;
export const adminRoutes = Object.keys(changeBodySchemas) as AdminRoute[];

/**
 * One example body per route for the OpenAPI document. In this order they also run one after the
 * other from "version 1 primary, version 3 shadow" (the document's test posts them so).
 */
const who = { actor: "ada", reason: "the retrained version passed its offline checks" };
const routeExamples: Record<AdminRoute, Record<string, unknown>> = {
  deploy: { version: "2", role: "canary", percent: 10, ...who },
  promote: { ...who, reason: "the canary held its accuracy for a day" },
  rollback: { ...who, reason: "error rate rose after the promotion" },
  split: { shadow_percent: 50, ...who, reason: "halve the shadow's scoring cost" },
  remove: { role: "shadow", ...who, reason: "shadow comparison done" },
};

/** The JSON Schema of a route's whole body (change + audit), for Fastify's validator and the OpenAPI document. */
export function routeBodyJsonSchema(route: AdminRoute): Record<string, unknown> {
  return { ...jsonSchemaOf(changeBodySchemas[route].extend(auditBodySchema.shape).strict()), examples: [routeExamples[route]] };
}

export function changeFromBody(route: AdminRoute, b: Record<string, unknown>): TrafficChange {
  switch (route) {
    case "deploy":
      return { action: "deploy", role: b.role as "primary", version: String(b.version), ...(b.percent !== undefined ? { percent: Number(b.percent) } : {}) };
    case "split":
      return { action: "set_split", canaryPercent: b.canary_percent as number | undefined, shadowPercent: b.shadow_percent as number | undefined };
    case "remove":
      return { action: "remove", role: b.role as "shadow" };
    case "promote":
    case "rollback":
      return { action: route, version: b.version as string | undefined };
  }
}

export function bodyFromChange(change: TrafficChange): { route: AdminRoute; body: Record<string, unknown> } {
  switch (change.action) {
    case "rollback":
    case "promote":
      return { route: change.action, body: { version: change.version } };
    case "set_split":
      return { route: "split", body: { canary_percent: change.canaryPercent, shadow_percent: change.shadowPercent } };
    case "deploy":
      return { route: "deploy", body: { version: change.version, role: change.role, percent: change.percent } };
    case "remove":
      return { route: "remove", body: { role: change.role } };
  }
}
