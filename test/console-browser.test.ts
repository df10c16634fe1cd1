import fs from "node:fs";
import path from "node:path";
import { MemorySaver } from "@langchain/langgraph";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentConfig } from "../agent/configuration.ts";
import { buildGraph } from "../agent/graph.ts";
import { recordThrough } from "../agent/incident-record.ts";
import { deterministicReasoner } from "../agent/reasoners/deterministic.ts";
import { AgentRunner } from "../agent/runner.ts";
import { McpTools } from "../agent/tools.ts";
import { driftOverTime } from "../analysis/index.ts";
import { registerConsole } from "../console/routes.ts";
import type { IncidentRecord } from "../incidents/record.ts";
import type { InferenceService } from "../inference/service.ts";
import { generateCredit, type CreditOptions } from "../models/datasets/credit.ts";
import type { ModelVersion } from "../models/registry.ts";
import type { Example } from "../models/schema.ts";
import { banditAllocation } from "../rollout/bandit.ts";
import { currentTrafficState } from "../store/deployments.ts";
import { modelVersionsTable } from "../store/tables.ts";
import { postOk } from "./helpers/http.ts";
import { incidentRecord } from "./helpers/incidents.ts";
import { connectMcpClient, mountMcpWithActions, TOKENS } from "./helpers/mcp-stack.ts";
import { registerTrained } from "./helpers/models.ts";
import { seedPredictions } from "./helpers/seed-store.ts";
import { startService } from "./helpers/service.ts";
import { LOOPBACK, tempStore, type TempStore } from "./helpers/temp-store.ts";

// The console in a real browser (Debian's chromium through puppeteer-core) against the real service,
// MCP server and embedded store in this process, as `mlwatch serve` hosts them, and the real agent
// graph investigating a fault through the MCP tools. Screenshots of each page go to
// test-artifacts/console/.

const CHROMIUM = process.env.MLWATCH_CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = path.join(import.meta.dirname, "..", "test-artifacts", "console");
const HOSTILE = "<img src=x onerror=alert(1)>";

let t: TempStore;
let svc: InferenceService;
let v1: ModelVersion;
let v2: ModelVersion;
let v3: ModelVersion;
let agent: McpTools;
let browser: Browser;
let page: Page;
const dialogs: string[] = [];
/** What the test sent and the labels it gave back: the figures the page must show, counted here. */
const sent = { requests: 0, labelled: 0, correct: 0 };

/** Real requests through /predict and their labels through /feedback, flushed; how many predictions were right. */
async function send(model: string, examples: Example[]): Promise<number> {
  let correct = 0;
  for (let i = 0; i < examples.length; i += 50) {
    const batch = examples.slice(i, i + 50);
    const res = await postOk(`${svc.url}/v1/models/${model}/predict`, { instances: batch.map((e) => e.row) });
    const labels = res.predictions.map((p: { request_id: string; predicted: string }, j: number) => {
      const label = v1.schema.classes[batch[j]!.label]!;
      correct += p.predicted === label ? 1 : 0;
      return { request_id: p.request_id, label };
    });
    await postOk(`${svc.url}/v1/feedback`, { labels });
  }
  await svc.predictions.flush();
  await svc.labels.flush();
  return correct;
}

async function traffic(n: number, seed: number): Promise<void> {
  sent.correct += await send("credit", generateCredit(n, seed).examples);
  sent.requests += n;
  sent.labelled += n;
}

const admin = (route: string, body: Record<string, unknown>, model = "credit") =>
  postOk(`${svc.url}/v1/admin/models/${model}/${route}`, { actor: "console-test", reason: "setup", ...body }, { authorization: `Bearer ${TOKENS.admin}` });

/** What the agent records when it waits on a person for `proposalId`; `features` as its diagnosis names them. */
function waitingIncident(id: string, proposalId: string, features: string[]): IncidentRecord {
  const at = new Date().toISOString();
  return incidentRecord({
    incidentId: id,
    model: "credit",
    status: "awaiting_approval",
    openedAt: at,
    pendingProposalId: proposalId,
    diagnosis: { rootCause: "covariate_shift", category: "data", features, confidence: 0.8, remedy: "rollback", explanation: `inputs moved: ${features.join(", ")}`, reasoner: "deterministic" },
    evidence: [{ id: "E1", node: "monitor", tool: "detect_data_drift", args: { model: "credit", feature: features[0] }, summary: `top by PSI: ${features[0]} 0.41*`, data: { features: [{ feature: features[0], psi: 0.41 }] } }],
    timeline: [{ at, node: "monitor", event: `SLO breach on ${features[0]}` }],
  });
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

const mainText = () => page.$eval("main", (m) => m.textContent ?? "");

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium (.ci/run installs it), or set MLWATCH_CHROMIUM`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  t = await tempStore({ ...LOOPBACK, MLWATCH_ADMIN_TOKEN: TOKENS.admin, MLWATCH_LOG_FLUSH_MS: "50", MLWATCH_STATE_POLL_MS: "100" });
  v1 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 1, rows: 800 });
  v2 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 2, rows: 800 });
  v3 = await registerTrained(t.store, t.config.modelDir, { model: "credit", seed: 3, rows: 800 });
  svc = await startService(t, async (app) => {
    await mountMcpWithActions(app, t);
    await registerConsole(app, { store: t.store, approverToken: TOKENS.approver, agentToken: TOKENS.agent, pollMs: 300 });
  });
  await admin("deploy", { version: v1.version, role: "primary" });
  await traffic(400, 1);
  // The registry refuses such a name; a store is shared with whatever else writes to it, so the page must not trust it.
  const [row] = await t.store.rows<Record<string, unknown>>(`SELECT * FROM ${t.store.table(modelVersionsTable.name)} FINAL WHERE model = 'credit' LIMIT 1`);
  await t.store.insert(modelVersionsTable.name, [{ ...row, model: HOSTILE }]);
  agent = new McpTools(await connectMcpClient(`${svc.url}/mcp`, TOKENS.agent));
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await agent?.close();
  await svc?.close();
  await t?.cleanup();
});

describe("the console in a browser", () => {
  it("the models page shows a served model's figures, and they update without a reload", async () => {
    await page.goto(`${svc.url}/ui`);
    const cell = (field: string) => page.$eval(`tr[data-model="credit"] [data-field="${field}"]`, (c) => c.textContent?.trim());
    expect(await cell("requests")).toBe(String(sent.requests));
    expect(await cell("accuracy")).toBe(`${((sent.correct / sent.labelled) * 100).toFixed(1)}%`);
    expect(await cell("label-coverage")).toBe("100.0%");
    expect(await cell("error-rate")).toBe("0.00%");
    expect(await cell("p99")).toMatch(/^\d+\.\d ms$/);
    expect(await page.$eval('tr[data-model="credit"] td', (c) => c.textContent)).toBe(`v${v1.version} primary`);
    await shot("models");
    await traffic(100, 2);
    await page.waitForFunction(`document.querySelector('tr[data-model="credit"] [data-field="requests"]')?.textContent === "${sent.requests}"`, { timeout: 10_000 });
  });

  it(`shows a model and a feature named ${HOSTILE} as text, never as markup`, async () => {
    await page.goto(`${svc.url}/ui`);
    expect(await page.$eval(`tr[data-model="${HOSTILE.replace(/"/g, '\\"')}"] th`, (c) => c.textContent)).toBe(HOSTILE);
    await page.goto(`${svc.url}/ui/models/${encodeURIComponent(HOSTILE)}`);
    expect(await page.$eval("h1 .name", (c) => c.textContent)).toBe(HOSTILE);
    const proposal = await agent.propose({ model: "credit", action: "promote", version: v2.version, reason: `drift in ${HOSTILE}` });
    await agent.recordIncident(waitingIncident("inc-hostile", proposal.proposal_id, [HOSTILE, "income"]));
    await page.goto(`${svc.url}/ui/incidents/inc-hostile`);
    expect(await page.$$eval("main code", (cs) => cs.map((c) => c.textContent))).toContain(HOSTILE);
    expect(await mainText()).toContain(`drift in ${HOSTILE}`);
    expect(await page.$$("img")).toHaveLength(0);
    expect(dialogs).toEqual([]);
    // Left pending: the next test decides on a proposal of its own.
    await approverReject(proposal.proposal_id);
  });

  it("a person signs in once (the agent's token is refused), approves, and the approval is the server's", async () => {
    const proposal = await agent.propose({ model: "credit", action: "promote", version: v2.version, reason: "v2 is better on the new inputs" });
    await agent.recordIncident(waitingIncident("inc-approve", proposal.proposal_id, ["income"]));
    await page.goto(`${svc.url}/ui/incidents/inc-approve`);
    await Promise.all([page.waitForNavigation(), page.click(".decision a[href^='/ui/signin']")]);
    await signIn("the agent", TOKENS.agent);
    expect(await mainText()).toMatch(/that is the agent's token \(MLWATCH_MCP_TOKEN\); the agent can never approve/);
    await signIn("Dana", TOKENS.approver);
    expect(new URL(page.url()).pathname).toBe("/ui/incidents/inc-approve");
    expect(page.url()).not.toContain(TOKENS.approver);
    expect(await page.evaluate("[document.cookie, localStorage.length, sessionStorage.length]")).toEqual(["", 0, 0]);
    const [cookie] = await browser.cookies();
    expect(cookie).toMatchObject({ name: "mlwatch_session", httpOnly: true, sameSite: "Strict", path: "/ui" });
    await shot("incident");
    await page.type("#reason", "v2 wins the comparison");
    await Promise.all([page.waitForNavigation(), page.click("button[value=approve]")]);
    expect(await page.$eval('[data-field="proposal-status"]', (c) => c.textContent)).toBe("approved");
    expect(await agent.getProposal(proposal.proposal_id)).toMatchObject({ status: "approved", decided_by: "Dana", decision_reason: "v2 wins the comparison" });
    await agent.apply(proposal.proposal_id);
    expect(svc.traffic.state("credit")?.primary).toBe(v2.version);
  });

  it("reject leaves traffic unchanged and the proposal can never be applied", async () => {
    const before = svc.traffic.state("credit");
    const proposal = await agent.propose({ model: "credit", action: "rollback", version: v1.version, reason: "undo" });
    await agent.recordIncident(waitingIncident("inc-reject", proposal.proposal_id, ["income"]));
    await page.goto(`${svc.url}/ui/incidents/inc-reject`);
    await Promise.all([page.waitForNavigation(), page.click("button[value=reject]")]);
    expect(await page.$eval('[data-field="proposal-status"]', (c) => c.textContent)).toBe("rejected");
    await expect(agent.apply(proposal.proposal_id)).rejects.toThrow(/rejected by Dana/);
    expect(svc.traffic.state("credit")).toEqual(before);
  });

  it("an edit is a new proposal that supersedes the pending one; both stay, and the old one can never be applied", async () => {
    const proposal = await agent.propose({ model: "credit", action: "rollback", version: v1.version, reason: "back to v1" });
    await agent.recordIncident(waitingIncident("inc-edit", proposal.proposal_id, ["income"]));
    await page.goto(`${svc.url}/ui/incidents/inc-edit`);
    await page.click("#edit-proposal summary");
    await page.$eval("#edit-version", (el) => ((el as unknown as { value: string }).value = ""));
    await page.type("#edit-version", v3.version);
    await page.type("#edit-reason", "v3 is the safer target");
    await Promise.all([page.waitForNavigation(), page.click("form.edit button")]);
    const edited = await page.$eval(".decision", (el) => el.getAttribute("data-proposal"));
    expect(edited).not.toBe(proposal.proposal_id);
    expect(await page.$eval('[data-field="proposal-status"]', (c) => c.textContent)).toBe("pending");
    expect(await page.$eval(".decision", (el) => el.textContent)).toContain(`v${v3.version}`);
    expect(await page.$eval(`[data-superseded="${proposal.proposal_id}"]`, (c) => c.textContent)).toBe(proposal.proposal_id);
    expect(await agent.getProposal(proposal.proposal_id)).toMatchObject({ status: "superseded", superseded_by: edited, decided_by: "Dana", decision_reason: "v3 is the safer target" });
    expect(await agent.getProposal(edited!)).toMatchObject({ status: "pending", action: "rollback", params: { version: v3.version }, proposed_by: "Dana" });
    await expect(agent.apply(proposal.proposal_id)).rejects.toThrow(/edited by Dana into proposal/);
    const audit = await agent.deployments({ model: "credit", limit: 20 });
    expect(audit.events.find((e) => e.action === "supersede")).toMatchObject({ actor: "Dana", proposal_id: proposal.proposal_id });
    await approverReject(edited!);
  });

  it("refuses a POST without the session or without the CSRF token, and one from another origin", async () => {
    const proposal = await agent.propose({ model: "credit", action: "rollback", version: v1.version, reason: "forged" });
    const url = `${svc.url}/ui/proposals/${proposal.proposal_id}/decision`;
    const [cookie] = await browser.cookies();
    const session = `mlwatch_session=${cookie!.value}`;
    const csrf = await csrfOfPage();
    const post = (headers: Record<string, string>, fields: Record<string, string>) =>
      fetch(url, { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body: new URLSearchParams(fields) });
    expect((await post({}, { decision: "approve", csrf })).status).toBe(401);
    expect((await post({ cookie: session }, { decision: "approve" })).status).toBe(403);
    expect((await post({ cookie: session }, { decision: "approve", csrf: "not-the-token" })).status).toBe(403);
    expect((await post({ cookie: session, origin: "http://evil.example" }, { decision: "approve", csrf })).status).toBe(403);
    expect((await agent.getProposal(proposal.proposal_id)).status).toBe("pending");
    const edit = (headers: Record<string, string>, fields: Record<string, string>) =>
      fetch(url.replace(/decision$/, "edit"), { method: "POST", redirect: "manual", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body: new URLSearchParams(fields) });
    expect((await edit({}, { version: v3.version, csrf })).status).toBe(401);
    expect((await edit({ cookie: session }, { version: v3.version })).status).toBe(403);
    expect((await edit({ cookie: session, origin: "http://evil.example" }, { version: v3.version, csrf })).status).toBe(403);
    expect((await edit({ cookie: session }, { canary_percent: "150", csrf })).status).toBe(400);
    expect((await agent.getProposal(proposal.proposal_id)).status).toBe("pending");
    // The same request with both is taken: the refusals above were for what they lacked.
    expect((await post({ cookie: session }, { decision: "reject", csrf })).status).toBe(303);
    expect((await agent.getProposal(proposal.proposal_id)).status).toBe("rejected");
  });

  it("an incident appears on the incidents page, without a reload, while a fault runs and the agent investigates it", async () => {
    const loans = await registerTrained(t.store, t.config.modelDir, { model: "loans", seed: 4, rows: 800 });
    await admin("deploy", { version: loans.version, role: "primary" }, "loans");
    // Fifty quiet minutes before the fault, logged as serving logs them, so the heat map has a before.
    const quiet = generateCredit(3000, 40).examples;
    const nowUs = Date.now() * 1000;
    await seedPredictions(t.store, { model: "loans", version: loans.version, schema: loans.schema, rows: quiet.map((e) => e.row), labels: quiet.map((e) => loans.schema.classes[e.label]!), startUs: nowUs - 55 * 60e6, stepUs: 1e6, requestIdPrefix: "quiet-" });
    // The fault of scenario 06 (an upstream form change): half the applications arrive without income or debt ratio.
    const fault: CreditOptions = { marginals: { missingRate: 0.5 } };
    await send("loans", generateCredit(600, 41, fault).examples);

    await page.goto(`${svc.url}/ui/incidents?model=loans`);
    expect(await mainText()).toContain("No incidents.");
    await page.evaluate("window.sameDocument = true");
    const tools = new McpTools(await connectMcpClient(`${svc.url}/mcp`, TOKENS.agent));
    try {
      const config = agentConfig({ thresholds: { minLabelled: 150 } });
      const checkpointer = new MemorySaver();
      const graph = buildGraph({ tools, reasoner: deterministicReasoner, config, checkpointer, print: () => undefined });
      const runner = new AgentRunner(graph, checkpointer, { record: recordThrough(tools, () => undefined) });
      const run = await runner.launch("loans");
      // The fault goes on while the agent investigates.
      const more = send("loans", generateCredit(300, 42, fault).examples);
      await page.waitForSelector(`tr[data-incident="${run.incidentId}"]`, { timeout: 120_000 });
      const [outcome] = await Promise.all([run.done, more]);
      const row = `tr[data-incident="${run.incidentId}"]`;
      await page.waitForFunction(`document.querySelector('${row} td:nth-of-type(2)')?.textContent.startsWith(${JSON.stringify(outcome.status)})`, { timeout: 30_000 });
      expect(await page.$eval(`${row} td`, (c) => c.textContent)).toBe("loans");
      expect(await page.evaluate("window.sameDocument")).toBe(true);
      expect(outcome.state.diagnosis?.features).toEqual(expect.arrayContaining(["income"]));
      await shot("incidents-live");
      await page.goto(`${svc.url}/ui/incidents/${run.incidentId}`);
      expect(await page.$$eval(".timeline li", (li) => li.length)).toBe(outcome.state.timeline.length);
      await page.goto(`${svc.url}/ui/models/loans`);
      await heatmapMatchesAnalysis("loans");
      const income = await page.$$eval('tr[data-feature="income"] td:not(.h-none)', (cs) => cs.map((c) => ({ heat: c.className, rows: Number(/(\d+) rows$/.exec(c.getAttribute("data-detail") ?? "")?.[1]) })));
      // A full quiet bucket (300 rows): PSI well under 0.1, the edge of "moderate". The first bucket
      // with a figure may be cut by the epoch-aligned edge to just over 100 rows, where noise alone
      // reads near 0.1, so the first full one is the quiet reference.
      expect(income.find((c) => c.rows >= 250)?.heat).toMatch(/^h[01]$/);
      expect(income[income.length - 1]!.heat).toMatch(/^h[45]$/);
      await page.focus('tr[data-feature="income"] td.h5, tr[data-feature="income"] td.h4');
      expect(await page.$eval("[data-readout]", (p) => p.textContent)).toMatch(/^income, \d\d:\d\d–\d\d:\d\d UTC: PSI \d\.\d{3}, major, \d+ rows$/);
      await shot("model-drift");
    } finally {
      await tools.close();
    }
  }, 240_000);

  it("the model page shows a running bandit's arms with the shares, labelled answers and rewards every replica computes", async () => {
    const a = await registerTrained(t.store, t.config.modelDir, { model: "offers", seed: 5, rows: 800 });
    const b = await registerTrained(t.store, t.config.modelDir, { model: "offers", seed: 6, rows: 300 });
    await admin("deploy", { version: a.version, role: "primary" }, "offers");
    await admin("bandit", { versions: [a.version, b.version], floor_percent: 10 }, "offers");
    await send("offers", generateCredit(300, 43).examples);
    await page.goto(`${svc.url}/ui/models/offers`);
    expect(await page.$eval("dl.figures dd", (d) => d.textContent)).toBe(`bandit over v${a.version}, v${b.version} · v${a.version} primary (fallback)`);
    const arms = await page.$$eval("[data-bandit] tbody tr", (rs) => rs.map((r) => [r.getAttribute("data-arm"), ...[...r.querySelectorAll("td")].map((c) => c.textContent)]));
    const expected = await banditAllocation(t.store, "offers", (await currentTrafficState(t.store, "offers")).state.bandit!);
    expect(arms).toEqual(expected.map((x) => [x.version, `${(x.share * 100).toFixed(1)}%`, String(x.pulls), x.meanReward === null ? "–" : x.meanReward.toFixed(3)]));
    // Every answer went through the bandit and got its label back.
    expect(expected.reduce((n, x) => n + x.pulls, 0)).toBe(300);
    await shot("model-bandit");
  });

  it("the model page shows versions, the deployment history, the trend chart and drift per feature over time", async () => {
    await page.goto(`${svc.url}/ui/models/credit`);
    await page.waitForSelector(".chart canvas");
    await heatmapMatchesAnalysis("credit");
    const history = await page.$$eval("#history-h + table tbody tr td:nth-child(2)", (cs) => cs.map((c) => c.textContent));
    expect(history).toEqual(expect.arrayContaining(["promote", "approve", "reject", "deploy", "register"]));
    expect(await page.$$eval("#versions-h + table tbody tr th", (cs) => cs.map((c) => c.textContent))).toEqual([`v${v1.version}`, `v${v2.version}`, `v${v3.version}`]);
    await shot("model");
    await page.goto(`${svc.url}/ui/incidents`);
    await shot("incidents");
  });
});

/** Every heat map cell on the page is the analysis' figure for its feature and bucket, read the same way now. */
async function heatmapMatchesAnalysis(model: string): Promise<void> {
  // One read of the table: a live update between two reads could shift the window by a bucket.
  const { cells, starts } = await page.$eval("table.heatmap", (table) => ({
    cells: [...table.querySelectorAll("tbody tr")].map((r) => ({ feature: r.getAttribute("data-feature"), values: [...r.querySelectorAll("td")].map((c) => c.textContent) })),
    starts: [...table.querySelectorAll("thead time")].map((x) => Date.parse(x.getAttribute("datetime")!) * 1000),
  }));
  const nowUs = Date.now() * 1000;
  const d = await driftOverTime(t.store, { model, window: { fromUs: nowUs - 3600e6, toUs: nowUs }, bucketSeconds: 300 });
  expect(cells.map((c) => c.feature)).toEqual(d.features.map((f) => f.feature));
  for (const [i, f] of d.features.entries()) {
    const expected = starts.map((s) => {
      const k = d.buckets.findIndex((b) => b.startUs === s);
      const x = k === -1 ? null : f.psi[k]!;
      return x === null ? "–" : x.toFixed(2);
    });
    expect(cells[i]!.values).toEqual(expected);
  }
  expect(cells.flatMap((c) => c.values).some((v) => v !== "–")).toBe(true);
}

async function signIn(person: string, token: string): Promise<void> {
  await page.$eval("#person", (el) => ((el as unknown as { value: string }).value = ""));
  await page.type("#person", person);
  await page.type("#token", token);
  await Promise.all([page.waitForNavigation(), page.click("form.signin button")]);
}

async function csrfOfPage(): Promise<string> {
  await page.goto(`${svc.url}/ui`);
  return page.$eval("input[name=csrf]", (el) => (el as unknown as { value: string }).value);
}

/** A decision outside the console, so a test leaves no proposal pending for the next one. */
async function approverReject(proposalId: string): Promise<void> {
  const person = new McpTools(await connectMcpClient(`${svc.url}/mcp`, TOKENS.approver));
  try {
    await person.approve({ proposal_id: proposalId, decision: "reject", approver: "test", reason: "cleanup" });
  } finally {
    await person.close();
  }
}
