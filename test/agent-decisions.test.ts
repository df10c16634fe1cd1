import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decisionOf, EXPIRY } from "../agent/decisions.ts";
import { decide, propose } from "../mcp-server/actions.ts";
import { editProposal } from "../mcp-server/edit-proposal.ts";
import { viewProposal } from "../mcp-server/proposal-view.ts";
import { nowMicros } from "../store/clock.ts";
import { recordDeploymentEvent } from "../store/deployments.ts";
import { registerTrained } from "./helpers/models.ts";
import { tempStore, type TempStore } from "./helpers/temp-store.ts";

// What a waiting run of `mlwatch agent` is resumed with, read off its proposal as get_proposal shows
// it after a person's decision on the server (the same functions `mlwatch approve`, the approvals
// route and the console call), and after its expiry.

const TTL_S = 3600;
const later = (us: number) => us + (TTL_S + 1) * 1e6;
let t: TempStore;
let v1 = "";

beforeAll(async () => {
  t = await tempStore();
  v1 = (await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1, rows: 1500 })).version;
  const v2 = (await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 2, rows: 1500 })).version;
  await recordDeploymentEvent(t.store, { model: "credit", action: "deploy", version: v2, state: { primary: v2, previous: v1, canary: null, shadow: null }, actor: "test", reason: "setup" });
}, 120_000);

afterAll(async () => {
  await t?.cleanup();
});

const proposeRollback = async (now: number) => propose(t.store, { model: "credit", action: "rollback", reason: "bad deploy" }, "agent", now, TTL_S);

describe("decisionOf: a waiting run's decision, from its proposal on the server", () => {
  it("a pending proposal leaves the run waiting", async () => {
    const now = nowMicros();
    expect(decisionOf(viewProposal(await proposeRollback(now), now))).toBeNull();
  });

  it("approved and rejected resume with the person's name and reason", async () => {
    const now = nowMicros();
    const approved = await decide(t.store, (await proposeRollback(now)).id, { approve: true, by: "alice", reason: "v2 is worse" }, now);
    expect(decisionOf(viewProposal(approved, now))).toEqual({ decision: "approve", by: "alice", reason: "v2 is worse" });
    const rejected = await decide(t.store, (await proposeRollback(now)).id, { approve: false, by: "bob", reason: "" }, now);
    expect(decisionOf(viewProposal(rejected, now))).toEqual({ decision: "reject", by: "bob" });
  });

  it("an edit resumes the run on the proposal the person's edit made", async () => {
    const now = nowMicros();
    const { superseded, edited } = await editProposal(t.store, (await proposeRollback(now)).id, { version: v1, reason: "to v1 explicitly" }, "carol", now);
    expect(decisionOf(viewProposal(superseded, now))).toMatchObject({ decision: "edit", by: "carol", proposalId: edited.id });
  });

  it("expired with no decision closes the run, in no person's name; approved then expired resumes as that approval", async () => {
    const now = nowMicros();
    const undecided = await proposeRollback(now);
    expect(decisionOf(viewProposal(undecided, later(now)))).toEqual({ decision: "reject", by: EXPIRY, reason: expect.stringMatching(new RegExp(`^proposal ${undecided.id} expired at .* with no decision; nothing was applied$`)) });
    const approved = await decide(t.store, (await proposeRollback(now)).id, { approve: true, by: "alice", reason: "ok" }, now);
    const view = viewProposal(approved, later(now));
    expect(view.status).toBe("expired");
    // The approve node reads the server's status again ('expired') and does not apply.
    expect(decisionOf(view)).toEqual({ decision: "approve", by: "alice", reason: "ok" });
  });
});
