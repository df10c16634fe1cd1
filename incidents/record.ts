import { z } from "zod";
import { planViewSchema } from "../rollout/plan-view.ts";

/**
 * An agent run's incident as it is kept in the store: the one contract between the agent, which
 * writes it through `record_incident` after every step, and what reads it (`get_incident`,
 * `list_incidents`, the console). Fields not named here are dropped on the way in: what is kept is
 * what the readers are promised.
 */
const text = (max: number) => z.string().max(max);
const iso = z.iso.datetime({ offset: true });
const args = z.record(z.string(), z.unknown());

const labels = z.record(z.string().max(200), z.string().max(4000));

export const triggerSchema = z.object({
  kind: z.enum(["schedule", "alert"]),
  alert: z.object({ alertname: text(200), status: text(40), labels, annotations: labels, startsAt: text(60), fingerprint: text(100).optional() }).optional(),
});

export const diagnosisSchema = z.object({
  rootCause: text(60),
  category: text(20),
  features: z.array(text(200)).max(100),
  confidence: z.number().min(0).max(1),
  remedy: text(40),
  explanation: text(4000),
  reasoner: text(40),
  fallbackReason: text(2000).optional(),
});

/** One fact with the tool call that produced it; `data` is the tool's figures (or a note that they were left out). */
export const evidenceSchema = z.object({
  id: text(20),
  node: text(40),
  tool: text(100),
  args,
  summary: text(4000),
  data: z.unknown(),
});

export const proposalSchema = z.object({
  proposalId: text(100),
  action: text(40),
  version: text(100).optional(),
  canaryPercent: z.number().optional(),
  reason: text(4000),
  effect: text(2000),
  expiresAt: text(60).nullable(),
  undo: text(2000),
  plan: z.array(text(2000)).max(20).optional(),
});

export const decisionSchema = z.object({
  decision: z.enum(["approve", "reject", "edit"]),
  by: text(200),
  reason: text(4000).optional(),
  at: iso,
  autoApproved: z.boolean(),
  serverStatus: text(200).optional(),
  edited: z.object({ action: text(40).optional(), version: text(100).optional(), canaryPercent: z.number().optional() }).optional(),
  /** edit: the proposal the person's side made from the edit. */
  proposalId: text(100).optional(),
});

const traffic = z.object({ primary: text(100).nullable(), previous: text(100).nullable(), canary: z.object({ version: text(100), percent: z.number() }).nullable() });

export const actionSchema = z.object({ ok: z.boolean(), proposalId: text(100), detail: text(4000), before: traffic, expectedPrimary: text(100).nullable() });

/** The revert a failed verification proposed (a proposal of its own, for a person to approve). */
export const revertSchema = z.object({ proposalId: text(100).nullable(), action: text(40), version: text(100).optional(), detail: text(4000) });

const figures = z.object({
  accuracy: z.number().nullable(),
  accuracySource: z.enum(["realized", "estimated"]).nullable(),
  rows: z.number(),
  labelled: z.number(),
  errorRate: z.number().nullable(),
  p99Ms: z.number().nullable(),
});

export const verificationSchema = z.object({ recovered: z.boolean(), before: figures, after: figures, target: z.number().nullable(), polls: z.number(), details: text(4000) });

export const timelineEntrySchema = z.object({ at: iso, node: text(40), event: text(4000) });

export const incidentStatuses = [
  "investigating",
  "diagnosed",
  "awaiting_approval",
  "approved",
  "rejected",
  "edit_requested",
  "approval_missing",
  "applied",
  "rolling_out",
  "recovered",
  "not_recovered",
  "escalated",
  "no_action",
] as const;

export const incidentRecordSchema = z
  .object({
    incidentId: z.string().regex(/^[A-Za-z0-9._:-]{1,200}$/, "letters, digits and . _ : - only, at most 200"),
    model: z.string().min(1).max(64),
    status: z.enum(incidentStatuses),
    openedAt: iso,
    /** Set by the run's last step; null while it runs or waits. */
    closedAt: iso.nullable(),
    /** The proposal a person is asked to decide while the run waits; null otherwise. */
    pendingProposalId: text(100).nullable(),
    trigger: triggerSchema,
    diagnosis: diagnosisSchema.nullable(),
    evidence: z.array(evidenceSchema).max(500),
    /** Every proposal of the run, first to last (an edit proposes again). */
    proposals: z.array(proposalSchema).max(50),
    decisions: z.array(decisionSchema).max(50),
    /** What was applied: the approved action, then a revert if verification failed. */
    actions: z.array(actionSchema).max(50),
    plan: planViewSchema.nullable(),
    verification: verificationSchema.nullable(),
    revert: revertSchema.nullable(),
    timeline: z.array(timelineEntrySchema).max(2000),
    /** The closing summary in words; '' until the run ends. */
    text: text(100_000),
  })
  .strict();
export type IncidentRecord = z.infer<typeof incidentRecordSchema>;

/** The line a list shows: the root cause once there is one, else the last thing that happened. */
export function summaryOf(r: IncidentRecord): string {
  const d = r.diagnosis;
  if (d) return `${d.rootCause} (${d.category}), remedy ${d.remedy}`;
  return r.timeline.at(-1)?.event ?? r.status;
}

/** Open = the run has not ended: it investigates, waits for a person or follows a rollout. */
export function isOpen(r: Pick<IncidentRecord, "closedAt">): boolean {
  return r.closedAt === null;
}
