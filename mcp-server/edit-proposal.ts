import type { Store } from "../store/client.ts";
import { recordDeploymentEvent } from "../store/deployments.ts";
import { getProposal, ProposalError, transition, updateProposal, type Proposal } from "../rollout/proposals.ts";
import { propose, type ProposeInput } from "./actions.ts";

/** What a person may change in a pending proposal: the parameters of its action, and why. */
export interface ProposalEdit {
  version?: string;
  canaryPercent?: number;
  shadowPercent?: number;
  reason: string;
}

/** propose_action's limit on a reason. */
const REASON_MAX = 2000;

/**
 * A person's edit of a pending proposal, under the approval gate's rules: the edit is a new
 * proposal (computed against traffic as it is now, living as long as the old one was given, still
 * needing an approval), and the old one is marked superseded by it. Both rows and both audit
 * events stay. A person's side only (the console's approver session): the agent's token has no
 * way here.
 */
export async function editProposal(store: Store, id: string, edit: ProposalEdit, by: string, nowUs: number): Promise<{ superseded: Proposal; edited: Proposal }> {
  const old = await getProposal(store, id);
  // The same refusal as the supersede below, before anything is written.
  transition(old, { type: "supersede", by, reason: edit.reason, supersededBy: "" }, nowUs);
  const edited = await propose(store, editedInput(old, edit, by), by, nowUs, (old.expiresAt - old.createdAt) / 1e6);
  let superseded: Proposal;
  try {
    superseded = (await updateProposal(store, id, { type: "supersede", by, reason: edit.reason, supersededBy: edited.id }, nowUs)).after;
  } catch (err) {
    // Decided meanwhile (another person, the agent's expiry): the edit must not stand beside it.
    await updateProposal(store, edited.id, { type: "reject", by, reason: `not taken: the proposal it edits, ${id}, was decided meanwhile` }, nowUs);
    throw err;
  }
  await recordDeploymentEvent(store, {
    model: old.model,
    action: "supersede",
    version: old.params.version,
    actor: by,
    reason: `edited into proposal ${edited.id}${edit.reason ? `: ${edit.reason}` : ""}`.slice(0, 2000),
    proposalId: id,
  });
  return { superseded, edited };
}

function editedInput(old: Proposal, edit: ProposalEdit, by: string): ProposeInput {
  const tag = ` [edit by ${by} of proposal ${old.id}]`;
  const reason = `${edit.reason || old.reason}`.slice(0, REASON_MAX - tag.length) + tag;
  const base = { model: old.model, action: old.action, reason };
  const split = edit.canaryPercent !== undefined || edit.shadowPercent !== undefined;
  let input: ProposeInput;
  switch (old.action) {
    case "rollback":
    case "promote":
      if (split) throw new ProposalError(`${old.action} takes a version, not traffic shares`);
      input = { ...base, version: edit.version ?? old.params.version };
      if (input.version === old.params.version) throw new ProposalError(`the edit changes nothing: ${old.action} to v${old.params.version ?? "(previous)"} already`);
      return input;
    case "set_traffic_split":
      if (edit.version !== undefined) throw new ProposalError("set_traffic_split takes traffic shares, not a version");
      input = { ...base, canaryPercent: edit.canaryPercent ?? old.params.canaryPercent, shadowPercent: edit.shadowPercent ?? old.params.shadowPercent };
      if (input.canaryPercent === old.params.canaryPercent && input.shadowPercent === old.params.shadowPercent) throw new ProposalError("the edit changes nothing: the same traffic shares");
      return input;
    case "retrain":
      throw new ProposalError("a retrain's rollout plan is not edited here: reject it, or approve it and abort the plan at any stage");
    case "start_bandit":
    case "stop_bandit":
      throw new ProposalError(`a ${old.action} proposal is not edited here: reject it and propose the bandit you want`);
  }
}
