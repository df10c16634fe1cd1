import os from "node:os";
import type { Command } from "../command.ts";
import { parse, printTable, UsageError } from "../command.ts";
import { loadConfig } from "../../config.ts";
import { openStore, StoreError, type Store } from "../../store/client.ts";
import { migrate } from "../../store/migrations.ts";
import { nowMicros } from "../../store/clock.ts";
import { decide } from "../../mcp-server/actions.ts";
import { loadMcpConfig, type McpConfig } from "../../mcp-server/config.ts";
import { probeServe } from "../../mcp-server/serve-probe.ts";
import { listProposals, ProposalError } from "../../rollout/proposals.ts";
import { viewProposal, type ProposalView } from "../../mcp-server/proposal-view.ts";

const usage = `usage: mlwatch approve <proposal-id> [--reject] [--reason TEXT] [--as NAME]
       mlwatch approve --list

Records a person's decision on an action an agent proposed (propose_action); only an approved
proposal can be applied, once, before it expires. --list shows the pending proposals.
When \`mlwatch serve\` runs (MLWATCH_URL) it owns the embedded store, so the decision goes to its
POST /v1/approvals/<id>, which takes MLWATCH_APPROVER_TOKEN (never the agent's MLWATCH_MCP_TOKEN);
otherwise, and always in server mode (CLICKHOUSE_URL), the store is opened directly.`;

export const approveCommand: Command = {
  name: "approve",
  summary: "approve or reject an agent's proposed action (a person's decision)",
  usage,
  async run(argv) {
    const { values, positionals } = parse(
      argv,
      { reject: { type: "boolean" }, reason: { type: "string" }, as: { type: "string" }, list: { type: "boolean" } },
      true,
    );
    if (values.list) {
      if (positionals.length) throw new UsageError("--list takes no proposal id");
      const pending = await withDecider((store) => listPending(store), () => listPendingOverHttp());
      printTable(pending.map((p) => ({ proposal: p.proposal_id, model: p.model, action: p.action, effect: p.effect, by: p.proposed_by, expires: p.expires_at, reason: p.reason })));
      return;
    }
    const [id, ...extra] = positionals;
    if (!id || extra.length) throw new UsageError("approve needs exactly one proposal id (mlwatch approve --list shows them)");
    const decision = { approve: !values.reject, by: values.as ?? person(), reason: values.reason ?? "" };
    let view: ProposalView;
    try {
      view = await withDecider(
        async (store) => viewProposal(await decide(store, id, decision, nowMicros()), nowMicros()),
        () => decideOverHttp(id, decision),
      );
    } catch (err) {
      // A refused decision (unknown, expired, already decided) is an answer, not a crash.
      if (!(err instanceof ProposalError)) throw err;
      console.error(`mlwatch approve: ${err.message}`);
      process.exitCode = 1;
      return;
    }
    console.log(`${view.status} proposal ${view.proposal_id} by ${view.decided_by}: ${view.action} of '${view.model}'`);
    console.log(`  effect: ${view.effect}`);
    if (view.approval_id) console.log(`  approval id: ${view.approval_id}; the agent may now apply it (apply_action) until ${view.expires_at}`);
  },
};

function person(): string {
  try {
    return os.userInfo().username || "cli";
  } catch {
    return "cli";
  }
}

/**
 * Through the approvals route of a running `serve` when it owns the embedded store (one process per
 * data directory); directly on the store otherwise.
 */
async function withDecider<T>(direct: (store: Store) => Promise<T>, overHttp: () => Promise<T>): Promise<T> {
  const config = loadConfig();
  if (config.clickhouse.mode === "embedded") {
    let status: number | null;
    try {
      status = await probeServe(loadMcpConfig().serveUrl);
    } catch (err) {
      throw new StoreError((err as Error).message);
    }
    if (status !== null) return overHttp();
  }
  const store = await openStore(config);
  try {
    await migrate(store);
    return await direct(store);
  } finally {
    await store.close();
  }
}

async function listPending(store: Store): Promise<ProposalView[]> {
  const now = nowMicros();
  return (await listProposals(store, { status: "pending", nowUs: now, limit: 100, offset: 0 })).map((p) => viewProposal(p, now));
}

async function decideOverHttp(id: string, d: { approve: boolean; by: string; reason: string }): Promise<ProposalView> {
  const body = { decision: d.approve ? "approve" : "reject", approver: d.by, ...(d.reason ? { reason: d.reason } : {}) };
  return ((await approvalsApi("POST", `/v1/approvals/${encodeURIComponent(id)}`, body)) as { proposal: ProposalView }).proposal;
}

async function listPendingOverHttp(): Promise<ProposalView[]> {
  return ((await approvalsApi("GET", "/v1/approvals?status=pending")) as { proposals: ProposalView[] }).proposals;
}

async function approvalsApi(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
  const mcp: McpConfig = loadMcpConfig();
  if (!mcp.approverToken) {
    throw new StoreError("mlwatch serve owns the store: set MLWATCH_APPROVER_TOKEN (the one serve was started with) to decide through it");
  }
  const url = new URL(path, mcp.serveUrl);
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${mcp.approverToken}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    throw new StoreError(`the store is in use, but mlwatch serve does not answer at ${url.origin} (MLWATCH_URL): ${err instanceof Error ? err.message : String(err)}`);
  }
  const json = (await res.json().catch(() => ({}))) as { reason?: string };
  if (res.status === 404 || res.status === 409) throw new ProposalError(json.reason ?? `mlwatch serve answered ${res.status}`);
  if (!res.ok) throw new StoreError(`mlwatch serve refused (${res.status}): ${json.reason ?? "no reason given"}`);
  return json;
}
