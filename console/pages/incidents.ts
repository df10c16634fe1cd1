import { html, type Html } from "../html.ts";
import type { IncidentListing } from "../../incidents/incident-store.ts";
import { when } from "../format.ts";

export function incidentsView(list: IncidentListing[], model: string | undefined): Html {
  return html`<h1>Incidents${model ? html` of <span class="name">${model}</span>` : ""}</h1>${incidentRows(list)}`;
}

export function incidentRows(list: IncidentListing[]): Html {
  if (list.length === 0) return html`<p>No incidents.</p>`;
  return html`<table class="incidents"><thead><tr><th scope="col">Incident</th><th scope="col">Model</th><th scope="col">Status</th><th scope="col">Summary</th><th scope="col">Opened</th><th scope="col">Closed</th></tr></thead>
<tbody>${list.map(
    (i) => html`<tr data-incident="${i.incidentId}"><th scope="row"><a href="/ui/incidents/${encodeURIComponent(i.incidentId)}">${i.incidentId}</a></th><td>${i.model}</td>
<td>${i.status}${i.pendingProposalId ? html` <strong class="waiting">waiting for a person</strong>` : ""}</td><td>${i.summary}</td><td>${when(i.openedAt)}</td><td>${when(i.closedAt)}</td></tr>`,
  )}</tbody></table>`;
}
