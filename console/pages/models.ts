import { html, type Html } from "../html.ts";
import type { ModelFigures } from "../figures.ts";
import { count, ms, serving } from "../format.ts";
import { DASH, pct } from "../../format.ts";

export function modelsView(models: ModelFigures[], windowSeconds: number): Html {
  if (models.length === 0) return html`<h1>Models</h1><p>No model is registered yet.</p>`;
  return html`<h1>Models</h1>
<table class="models">
<caption>Every registered model over the last ${windowSeconds / 60} minutes</caption>
<thead><tr>
<th scope="col">Model</th><th scope="col">Serving (traffic split)</th><th scope="col">Requests</th><th scope="col">Error rate</th>
<th scope="col">p99</th><th scope="col">Accuracy</th><th scope="col">Estimated (CBPE)</th><th scope="col">Label coverage</th><th scope="col">Open incidents</th>
</tr></thead>
<tbody>${models.map(row)}</tbody>
</table>`;
}

function row(m: ModelFigures): Html {
  return html`<tr data-model="${m.model}">
<th scope="row"><a href="/ui/models/${encodeURIComponent(m.model)}">${m.model}</a></th>
<td>${serving(m.traffic)}</td>
<td class="num" data-field="requests">${count(m.requests)}</td>
<td class="num" data-field="error-rate">${pct(m.errorRate, 2, DASH)}</td>
<td class="num" data-field="p99">${ms(m.p99Ms)}</td>
<td class="num" data-field="accuracy">${pct(m.accuracy, 1, DASH)}</td>
<td class="num" data-field="estimated">${pct(m.estimated, 1, DASH)}</td>
<td class="num" data-field="label-coverage">${pct(m.labelCoverage, 1, DASH)}</td>
<td class="num" data-field="open-incidents">${m.openIncidents ? html`<a href="/ui/incidents?model=${encodeURIComponent(m.model)}">${m.openIncidents}</a>` : "0"}</td>
</tr>`;
}
