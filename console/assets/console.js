// The console's only script (served from /ui/assets, allowed by the page's CSP; no inline code).
// Live updates: every few seconds the page's <main> is fetched again from the same URL with the
// x-mlwatch-live header, which makes the server answer with that part alone, rendered and escaped
// there, and swapped in, unless the focus is in a form or a part marked data-hold (the edit form's
// disclosure, the heat map's cells). Charts are drawn from the page's JSON block with uPlot after
// each swap.
"use strict";


function drawCharts(root) {
  if (typeof uPlot === "undefined") return;
  for (const el of root.querySelectorAll("[data-chart=trend]")) {
    const block = document.getElementById("trend-data");
    if (!block) continue;
    const d = JSON.parse(block.textContent);
    el.textContent = "";
    if (d.t.length === 0) {
      el.textContent = "No traffic in the window.";
      continue;
    }
    const pct = (u, vals) => vals.map((v) => (v === null ? "" : `${(v * 100).toFixed(0)}%`));
    new uPlot(
      {
        width: Math.min(el.clientWidth || 800, 960),
        height: 240,
        scales: { x: { time: true }, acc: { range: [0, 1] }, ms: {} },
        series: [
          {},
          { label: "accuracy", scale: "acc", stroke: "#1f6feb", width: 2, value: (u, v) => (v === null ? "–" : `${(v * 100).toFixed(1)}%`) },
          { label: "estimated (CBPE)", scale: "acc", stroke: "#8250df", dash: [6, 4], value: (u, v) => (v === null ? "–" : `${(v * 100).toFixed(1)}%`) },
          { label: "p99 (ms)", scale: "ms", stroke: "#cf222e", value: (u, v) => (v === null ? "–" : `${v.toFixed(1)} ms`) },
        ],
        axes: [{}, { scale: "acc", values: pct }, { scale: "ms", side: 1, grid: { show: false } }],
      },
      [d.t, d.accuracy, d.estimated, d.p99],
      el,
    );
  }
}

async function refresh() {
  const main = document.getElementById("main");
  const active = document.activeElement;
  if (!main || (active && active.closest("form, [data-hold]"))) return;
  const res = await fetch(location.href, { headers: { "x-mlwatch-live": "1" }, credentials: "same-origin" });
  if (!res.ok || res.headers.get("x-mlwatch-live") !== "main") return;
  const text = await res.text();
  const open = [...main.querySelectorAll("details[open]")].map((d) => d.closest("[id]")?.id).filter(Boolean);
  main.innerHTML = text;
  for (const id of open) document.getElementById(id)?.querySelector("details")?.setAttribute("open", "");
  drawCharts(main);
  document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || "0") + 1);
}

// The heat map's read-out: the cell under the pointer or with the focus, in words.
function showCell(event) {
  const cell = event.target.closest && event.target.closest("[data-detail]");
  const readout = cell && cell.closest("section")?.querySelector("[data-readout]");
  if (readout) readout.textContent = cell.dataset.detail;
}

document.addEventListener("mouseover", showCell);
document.addEventListener("focusin", showCell);

document.addEventListener("DOMContentLoaded", () => {
  drawCharts(document);
  const pollMs = Number(document.body.dataset.pollMs);
  if (pollMs > 0) setInterval(() => refresh().catch(() => undefined), pollMs);
});
