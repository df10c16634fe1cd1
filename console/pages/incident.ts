import { html, type Html } from "../html.ts";
import type { IncidentRecord } from "../../incidents/record.ts";
import type { ProposalView } from "../../mcp-server/proposal-view.ts";
import type { Viewer } from "../access.ts";
import { when } from "../format.ts";
import { DASH, pct } from "../../format.ts";

/**
 * `chain`: the server's view of the proposal the run waits on, if it waits on one, then each edit
 * that superseded it; the last is the one to decide.
 */
export function incidentView(r: IncidentRecord, chain: ProposalView[], viewer: Viewer): Html {
  const d = r.diagnosis;
  const proposal = chain[chain.length - 1];
  return html`<h1>Incident <span class="name">${r.incidentId}</span></h1>
<dl class="figures">
<div><dt>Model</dt><dd><a href="/ui/models/${encodeURIComponent(r.model)}">${r.model}</a></dd></div>
<div><dt>Status</dt><dd data-field="status">${r.status}</dd></div>
<div><dt>Trigger</dt><dd>${r.trigger.kind === "alert" && r.trigger.alert ? `alert ${r.trigger.alert.alertname} (${r.trigger.alert.status})` : "scheduled check"}</dd></div>
<div><dt>Opened</dt><dd>${when(r.openedAt)}</dd></div>
<div><dt>Closed</dt><dd>${when(r.closedAt)}</dd></div>
</dl>
${proposal ? decisionView(proposal, chain.slice(0, -1), viewer, r.incidentId) : ""}
<section aria-labelledby="diag-h"><h2 id="diag-h">Diagnosis</h2>
${d ? html`<p><strong>${d.rootCause}</strong> (${d.category}), confidence ${d.confidence.toFixed(2)}, remedy <strong>${d.remedy}</strong>, by ${d.reasoner}${d.fallbackReason ? ` (fallback: ${d.fallbackReason})` : ""}${d.features.length ? html`; features ${d.features.map((f, i) => html`${i ? ", " : ""}<code>${f}</code>`)}` : ""}</p><p>${d.explanation}</p>` : html`<p>No diagnosis yet.</p>`}
</section>
${r.proposals.length ? html`<section aria-labelledby="props-h"><h2 id="props-h">Proposals</h2><ol>${r.proposals.map((p) => html`<li><code>${p.proposalId}</code>: ${p.action}${p.version ? ` v${p.version}` : ""}${p.canaryPercent !== undefined ? ` canary ${p.canaryPercent}%` : ""} — ${p.effect}. Undo: ${p.undo}${p.plan ? html`<ol class="plan">${p.plan.map((s) => html`<li>${s}</li>`)}</ol>` : ""}</li>`)}</ol></section>` : ""}
${r.decisions.length ? html`<section aria-labelledby="dec-h"><h2 id="dec-h">Decisions</h2><ul>${r.decisions.map((x) => html`<li>${when(x.at)}: <strong>${x.decision}</strong> by ${x.by}${x.autoApproved ? " (auto-approved, simulation)" : ""}${x.reason ? ` — ${x.reason}` : ""}${x.serverStatus ? `; server: ${x.serverStatus}` : ""}</li>`)}</ul></section>` : ""}
${r.actions.length ? html`<section aria-labelledby="act-h"><h2 id="act-h">Actions</h2><ul>${r.actions.map((a) => html`<li>${a.ok ? "applied" : "failed"}: ${a.detail}</li>`)}</ul></section>` : ""}
${r.plan ? html`<section><h2>Rollout plan</h2><p>${r.plan.id}: ${r.plan.progress}</p></section>` : ""}
${r.verification ? verificationView(r.verification) : ""}
${r.revert ? html`<section><h2>Revert</h2><p>${r.revert.detail}</p></section>` : ""}
<section aria-labelledby="tl-h"><h2 id="tl-h">Timeline</h2><ol class="timeline">${r.timeline.map((t) => html`<li><time datetime="${t.at}">${when(t.at)}</time> <span class="node">${t.node}</span> ${t.event}</li>`)}</ol></section>
<section aria-labelledby="ev-h"><h2 id="ev-h">Evidence</h2>${r.evidence.map(
    (e) => html`<article class="evidence" id="${e.id}"><h3>[${e.id}] <code>${e.tool}(${JSON.stringify(e.args)})</code></h3><p>${e.summary}</p>
<details><summary>Figures</summary><pre>${JSON.stringify(e.data, null, 2)}</pre></details></article>`,
  )}</section>`;
}

function verificationView(v: NonNullable<IncidentRecord["verification"]>): Html {
  const line = (label: string, f: typeof v.before) =>
    html`<tr><th scope="row">${label}</th><td class="num">${pct(f.accuracy, 1, DASH)}${f.accuracySource ? ` (${f.accuracySource})` : ""}</td><td class="num">${f.rows}</td><td class="num">${f.labelled}</td><td class="num">${pct(f.errorRate, 2, DASH)}</td><td class="num">${f.p99Ms === null ? "–" : `${f.p99Ms.toFixed(0)} ms`}</td></tr>`;
  return html`<section aria-labelledby="ver-h"><h2 id="ver-h">Verification: ${v.recovered ? "recovered" : "not recovered"}</h2><p>${v.details}</p>
<table><thead><tr><th scope="col"></th><th scope="col">Accuracy</th><th scope="col">Rows</th><th scope="col">Labelled</th><th scope="col">Error rate</th><th scope="col">p99</th></tr></thead>
<tbody>${line("before", v.before)}${line("after", v.after)}</tbody></table></section>`;
}

/** The decision waiting on a person: the proposal as the server holds it, the ones it was edited from, and approve / reject / edit for a signed-in approver. */
function decisionView(p: ProposalView, earlier: ProposalView[], viewer: Viewer, incidentId: string): Html {
  const open = p.status === "pending";
  return html`<section class="decision" aria-labelledby="decide-h" data-proposal="${p.proposal_id}"><h2 id="decide-h">${open ? "Waiting for your decision" : `Proposal ${p.status}`}</h2>
${earlier.length ? html`<p>Edited from: ${earlier.map((e, i) => html`${i ? "; " : ""}<code data-superseded="${e.proposal_id}">${e.proposal_id}</code> (${e.action}${e.params.version ? ` v${e.params.version}` : ""}, ${e.status} by ${e.decided_by ?? DASH}${e.decision_reason ? `: ${e.decision_reason}` : ""})`)}</p>` : ""}
<p><strong>${p.action}</strong> of ${p.model}: ${p.effect}</p>
<p>Why: ${p.reason}</p>
<p>Proposed by ${p.proposed_by} at ${when(p.created_at)}; expires ${when(p.expires_at)}. Status <strong data-field="proposal-status">${p.status}</strong>${p.decided_by ? ` — decided by ${p.decided_by}${p.decision_reason ? ` (${p.decision_reason})` : ""}` : ""}.</p>
${p.params.plan ? html`<ol class="plan">${p.params.plan.stages.map((s) => html`<li>${s}</li>`)}</ol>` : ""}
${open ? decisionForm(p, viewer, incidentId) : ""}
</section>`;
}

function decisionForm(p: ProposalView, viewer: Viewer, incidentId: string): Html {
  if (!viewer.session) {
    return viewer.canSignIn
      ? html`<p><a href="/ui/signin?next=${encodeURIComponent(`/ui/incidents/${incidentId}`)}">Sign in as approver</a> to approve or reject.</p>`
      : html`<p>Read-only: no approver token is configured, so decisions are taken with <code>mlwatch approve</code> or <code>mlwatch chat</code>.</p>`;
  }
  return html`<form method="post" action="/ui/proposals/${encodeURIComponent(p.proposal_id)}/decision" class="decide">
<input type="hidden" name="csrf" value="${viewer.session.csrf}">
<input type="hidden" name="incident" value="${incidentId}">
<label for="reason">Reason (recorded with your decision)</label>
<input id="reason" name="reason" maxlength="2000" autocomplete="off">
<div class="buttons"><button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="reject">Reject</button></div>
</form>
${editForm(p, viewer.session.csrf, incidentId)}`;
}

/** An edit is a new proposal that supersedes this one and still waits for a decision; a retrain's plan is not edited here. */
function editForm(p: ProposalView, csrf: string, incidentId: string): Html {
  if (p.action === "retrain") return html`<p>A retrain's rollout plan is not edited here: reject it, or approve it and abort the plan at any stage.</p>`;
  const fields =
    p.action === "set_traffic_split"
      ? html`<label for="edit-canary">Canary share (%)</label><input id="edit-canary" name="canary_percent" inputmode="numeric" pattern="\d{1,3}" value="${p.params.canary_percent ?? ""}">
<label for="edit-shadow">Shadow share (%)</label><input id="edit-shadow" name="shadow_percent" inputmode="numeric" pattern="\d{1,3}" value="${p.params.shadow_percent ?? ""}">`
      : html`<label for="edit-version">Version to ${p.action} to</label><input id="edit-version" name="version" required maxlength="64" value="${p.params.version ?? ""}">`;
  return html`<div id="edit-proposal" data-hold><details><summary>Edit this proposal</summary>
<form method="post" action="/ui/proposals/${encodeURIComponent(p.proposal_id)}/edit" class="decide edit">
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="incident" value="${incidentId}">
${fields}
<label for="edit-reason">Why (recorded with the edit)</label>
<input id="edit-reason" name="reason" maxlength="1000" autocomplete="off">
<p>The edit becomes a new proposal that replaces this one and waits for a decision again.</p>
<div class="buttons"><button type="submit">Save as a new proposal</button></div>
</form></details></div>`;
}
