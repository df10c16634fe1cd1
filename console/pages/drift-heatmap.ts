import { html, type Html } from "../html.ts";
import type { DriftOverTime } from "../../analysis/index.ts";
import { DASH, iso } from "../../format.ts";

/**
 * The colour steps of the heat map, on PSI: the two level edges (0.1, 0.25) split further so a
 * feature creeping towards "moderate" shows before it gets there. Classes, not inline styles: the
 * console's CSP allows no inline style.
 */
const STEPS = [
  { below: 0.05, label: "< 0.05" },
  { below: 0.1, label: "0.05–0.1" },
  { below: 0.175, label: "0.1–0.175" },
  { below: 0.25, label: "0.175–0.25" },
  { below: 0.5, label: "0.25–0.5" },
  { below: Infinity, label: "≥ 0.5" },
] as const;

const step = (x: number): number => STEPS.findIndex((s) => x < s.below);

/**
 * Features × time buckets, one table: each cell's class colours it by PSI, its text is the figure
 * (so a screen reader reads the table as a table), and hovering or focusing it shows the bucket,
 * the level and the rows in the read-out line (console.js).
 */
export function driftHeatmap(d: DriftOverTime | null, reason: string | null): Html {
  const heading = html`<h2 id="heat-h">Drift per feature over time</h2>`;
  if (!d) return html`<section aria-labelledby="heat-h">${heading}<p>${reason}</p></section>`;
  const minutes = d.bucketSeconds / 60;
  const hhmm = (us: number) => iso(us).slice(11, 16);
  return html`<section aria-labelledby="heat-h">${heading}
<p>PSI of each input of v${d.version} against its training baseline, per ${minutes}-minute bucket (UTC), as <code>detect_data_drift</code> ranks features; a bucket under ${d.minRows} rows has no figure (${DASH}).</p>
<div class="heatmap-wrap">
<table class="heatmap" data-hold>
<caption>PSI per feature (rows) and ${minutes}-minute bucket (columns); &lt; 0.1 no shift, 0.1–0.25 moderate, ≥ 0.25 major</caption>
<thead><tr><th scope="col">Feature</th>${d.buckets.map((b) => html`<th scope="col"><time datetime="${iso(b.startUs)}">${hhmm(b.startUs)}</time></th>`)}</tr></thead>
<tbody>${d.features.map(
    (f) => html`<tr data-feature="${f.feature}"><th scope="row">${f.feature}</th>${f.psi.map((x, i) => {
      const b = d.buckets[i]!;
      const detail = `${f.feature}, ${hhmm(b.startUs)}–${hhmm(b.startUs + d.bucketSeconds * 1e6)} UTC: ${x === null ? `no figure (${b.rows} rows, under ${d.minRows})` : `PSI ${x.toFixed(3)}, ${f.level[i]}, ${b.rows} rows`}`;
      return html`<td class="${x === null ? "h-none" : `h${step(x)}`}" tabindex="0" title="${detail}" data-detail="${detail}">${x === null ? DASH : x.toFixed(2)}</td>`;
    })}</tr>`,
  )}</tbody>
</table>
</div>
<p class="readout" data-readout>Hover over or focus a cell for its bucket, level and rows.</p>
<p class="legend" aria-hidden="true">${STEPS.map((s, i) => html`<span class="h${i}">${s.label}</span> `)}<span class="h-none">${DASH} too few rows</span></p>
</section>`;
}
