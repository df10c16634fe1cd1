import type { Store } from "../store/client.ts";
import { rolloutPlansTable, type RolloutPlanRow } from "../store/rollout-plans-table.ts";
import { PlanError, type Plan } from "./plan.ts";

export async function savePlan(store: Store, plan: Plan): Promise<void> {
  const row: RolloutPlanRow = { plan_id: plan.id, model: plan.model, proposal_id: plan.proposalId, status: plan.status, plan: JSON.stringify(plan), updated_at: plan.updatedAtUs };
  await store.insert(rolloutPlansTable.name, [row]);
}

export async function getPlan(store: Store, id: string): Promise<Plan> {
  const rows = await store.rows<{ plan: string }>(`SELECT plan FROM ${store.table(rolloutPlansTable.name)} FINAL WHERE plan_id = {id:String}`, { id });
  if (!rows[0]) throw new PlanError(`unknown rollout plan '${id}'`);
  return JSON.parse(rows[0].plan) as Plan;
}

/** Newest first; `model` narrows to one model, `status` to running plans, say. */
export async function listPlans(store: Store, filter: { model?: string; status?: string; limit?: number } = {}): Promise<Plan[]> {
  const rows = await store.rows<{ plan: string }>(
    `SELECT plan FROM ${store.table(rolloutPlansTable.name)} FINAL
     WHERE ({model:String} = '' OR model = {model:String}) AND ({status:String} = '' OR status = {status:String})
     ORDER BY updated_at DESC LIMIT {limit:UInt32}`,
    { model: filter.model ?? "", status: filter.status ?? "", limit: filter.limit ?? 50 },
  );
  return rows.map((r) => JSON.parse(r.plan) as Plan);
}

export async function planForProposal(store: Store, proposalId: string): Promise<Plan | null> {
  const rows = await store.rows<{ plan: string }>(`SELECT plan FROM ${store.table(rolloutPlansTable.name)} FINAL WHERE proposal_id = {proposalId:String}`, { proposalId });
  return rows[0] ? (JSON.parse(rows[0].plan) as Plan) : null;
}
