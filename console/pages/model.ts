import { html, jsonBlock, type Html } from "../html.ts";
import type { ModelDetail } from "../figures.ts";
import { count, ms, serving, when, whenUs } from "../format.ts";
import type { ArmAllocation } from "../../rollout/bandit.ts";
import type { PlanView } from "../../rollout/plan-view.ts";
import type { BanditState } from "../../store/deployments.ts";
import { driftHeatmap } from "./drift-heatmap.ts";
import { incidentRows } from "./incidents.ts";
import { DASH, pct } from "../../format.ts";

export function modelView(m: ModelDetail, windowSeconds: number): Html {
  return html`<h1>Model <span class="name">${m.model}</span></h1>
<dl class="figures">
<div><dt>Serving</dt><dd>${serving(m.traffic)}</dd></div>
<div><dt>Requests (${windowSeconds / 60} min)</dt><dd data-field="requests">${count(m.requests)}</dd></div>
<div><dt>Error rate</dt><dd data-field="error-rate">${pct(m.errorRate, 2, DASH)}</dd></div>
<div><dt>p99</dt><dd data-field="p99">${ms(m.p99Ms)}</dd></div>
<div><dt>Accuracy</dt><dd data-field="accuracy">${pct(m.accuracy, 1, DASH)}</dd></div>
<div><dt>Estimated (CBPE)</dt><dd data-field="estimated">${pct(m.estimated, 1, DASH)}</dd></div>
<div><dt>Label coverage</dt><dd data-field="label-coverage">${pct(m.labelCoverage, 1, DASH)}</dd></div>
<div><dt>Open incidents</dt><dd data-field="open-incidents">${m.openIncidents}</dd></div>
</dl>
<section aria-labelledby="trend-h"><h2 id="trend-h">Accuracy and p99 over the last ${windowSeconds / 60} minutes</h2>
<div class="chart" data-chart="trend" role="img" aria-label="Realized and estimated accuracy and p99 latency per time bucket; the same figures are in the tables of the MCP tools get_model_accuracy and get_model_health"></div>
${jsonBlock("trend-data", m.trend)}
</section>
${driftHeatmap(m.drift, m.noDrift)}
${m.plan ? planView(m.plan) : html`<section><h2>Rollout</h2><p>No rollout plan is running.</p></section>`}
${m.bandit && m.traffic.bandit ? banditView(m.traffic.bandit, m.bandit) : ""}
<section aria-labelledby="versions-h"><h2 id="versions-h">Versions</h2>
<table><thead><tr><th scope="col">Version</th><th scope="col">Kind</th><th scope="col">Lifecycle</th><th scope="col">Created</th><th scope="col">Held-out accuracy</th><th scope="col">Features</th></tr></thead>
<tbody>${m.versions.map((v) => html`<tr><th scope="row">v${v.version}</th><td>${v.kind}</td><td>${v.status}</td><td>${when(v.createdAt)}</td><td class="num">${pct(v.heldOutAccuracy, 1, DASH)}</td><td class="num">${v.features}</td></tr>`)}</tbody></table>
</section>
<section aria-labelledby="history-h"><h2 id="history-h">Deployment history</h2>
<table><thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Version</th><th scope="col">By</th><th scope="col">Why</th><th scope="col">Traffic after</th></tr></thead>
<tbody>${m.history.map((e) => html`<tr><td>${whenUs(e.ts)}</td><td>${e.action}</td><td>${e.version ? `v${e.version}` : "–"}</td><td>${e.actor}${e.autoApproved ? " (auto)" : ""}</td><td>${e.reason}</td><td>${e.state ? serving(e.state) : "–"}</td></tr>`)}</tbody></table>
</section>
<section aria-labelledby="incidents-h"><h2 id="incidents-h">Incidents</h2>${incidentRows(m.incidents)}</section>`;
}

function banditView(b: BanditState, arms: ArmAllocation[]): Html {
  return html`<section aria-labelledby="bandit-h" data-bandit><h2 id="bandit-h">Bandit</h2>
<p>${b.policy === "thompson" ? "Thompson sampling" : "UCB"} over ${arms.length} versions since ${whenUs(b.sinceUs)}, at least ${b.floorPercent}% each; the share follows each version's reward on labelled answers (right = 1, wrong = 0${b.latencyPenaltyPerMs > 0 ? `, minus ${b.latencyPenaltyPerMs} per ms of latency` : ""}).</p>
<table><thead><tr><th scope="col">Version</th><th scope="col">Share of traffic</th><th scope="col">Labelled answers</th><th scope="col">Mean reward</th></tr></thead>
<tbody>${arms.map((a) => html`<tr data-arm="${a.version}"><th scope="row">v${a.version}</th><td class="num">${pct(a.share, 1)}</td><td class="num">${count(a.pulls)}</td><td class="num">${a.meanReward === null ? DASH : a.meanReward.toFixed(3)}</td></tr>`)}</tbody></table>
</section>`;
}

function planView(p: PlanView): Html {
  return html`<section aria-labelledby="plan-h" data-plan="${p.id}"><h2 id="plan-h">Rollout plan ${p.id}</h2>
<p>v${p.baseVersion} → ${p.candidateVersion ? `v${p.candidateVersion}` : "candidate not trained yet"}, approved by ${p.approvedBy}. <strong data-field="plan-progress">${p.progress}</strong></p>
<table><thead><tr><th scope="col">#</th><th scope="col">Stage</th><th scope="col">Gate</th><th scope="col">Status</th><th scope="col">Figures</th><th scope="col">Note</th></tr></thead>
<tbody>${p.stages.map(
    (s, i) => html`<tr class="${i === p.current ? "current" : ""}"${i === p.current ? html` aria-current="step"` : ""}><td class="num">${i + 1}</td><td>${s.name}</td><td>${s.gate}</td><td>${s.status}</td>
<td>${Object.entries(s.figures).map(([k, v]) => html`<span class="fig">${k}=${typeof v === "number" ? Number(v.toPrecision(4)) : v}</span> `)}</td><td>${s.note}</td></tr>`,
  )}</tbody></table></section>`;
}
