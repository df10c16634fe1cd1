import { z } from "zod";
import { jsonSchemaOf } from "../http/openapi.ts";
import { banditPolicies } from "../store/deployments.ts";
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
  bandit: z.object({
    versions: z.array(version).min(1).max(16).describe("The arms: at least two distinct registered versions."),
    policy: z.enum(banditPolicies).optional().describe("thompson (default): each arm's share is its posterior chance of being best; ucb: the arm with the highest upper confidence bound takes all but the floors."),
    floor_percent: z.number().min(0).max(50).optional().describe("Share every arm keeps whatever its reward (default 10)."),
    latency_penalty_per_ms: z.number().min(0).max(1).optional().describe("Reward lost per millisecond of latency (default 0: accuracy alone)."),
    seed: z.number().int().optional().describe("Seed of the Thompson draws: replicas with the same counts compute the same allocation."),
  }),
  stop_bandit: z.object({}),
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
  bandit: { versions: ["1", "2"], policy: "thompson", floor_percent: 10, ...who, reason: "let labelled traffic choose between v1 and v2" },
  stop_bandit: { ...who, reason: "v2 won the bandit; promote it next" },
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
    case "bandit":
      return {
        action: "start_bandit",
        versions: b.versions as string[],
        policy: b.policy as "thompson" | undefined,
        floorPercent: b.floor_percent as number | undefined,
        latencyPenaltyPerMs: b.latency_penalty_per_ms as number | undefined,
        seed: b.seed as number | undefined,
      };
    case "stop_bandit":
      return { action: "stop_bandit" };
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
    case "start_bandit":
      return {
        route: "bandit",
        body: { versions: change.versions, policy: change.policy, floor_percent: change.floorPercent, latency_penalty_per_ms: change.latencyPenaltyPerMs, seed: change.seed },
      };
    case "stop_bandit":
      return { route: "stop_bandit", body: {} };
  }
}
