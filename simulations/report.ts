import fs from "node:fs";
import path from "node:path";
import type { ScenarioResult, SeriesPoint } from "./result.ts";
import type { Scores } from "./scoring.ts";

export interface SuiteReport {
  startedAt: string;
  seeds: number[];
  results: ScenarioResult[];
  agent: Scores;
  baseline: Scores;
}

/** Writes suite.json, suite.md and suite.html into dir; returns their paths. */
export function writeReport(dir: string, report: SuiteReport): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files = {
    json: path.join(dir, "suite.json"),
    md: path.join(dir, "suite.md"),
    html: path.join(dir, "suite.html"),
  };
  fs.writeFileSync(files.json, JSON.stringify(report, null, 2));
  fs.writeFileSync(files.md, markdown(report));
  fs.writeFileSync(files.html, html(report));
  return Object.values(files);
}

const pct = (x: number | null) => (x === null ? "–" : `${(x * 100).toFixed(0)}%`);
const num = (x: number | null) => (x === null ? "–" : String(Math.round(x)));
const acc = (x: number | null) => (x === null ? "–" : `${(x * 100).toFixed(1)}%`);

export function scoreRows(agent: Scores, baseline: Scores): string[][] {
  return [
    ["detection rate", pct(agent.detectionRate), pct(baseline.detectionRate)],
    ["false-alarm rate", pct(agent.falseAlarmRate), pct(baseline.falseAlarmRate)],
    ["root cause exact", pct(agent.rootCauseExact), pct(baseline.rootCauseExact)],
    ["feature Acc@1", pct(agent.featureAcc1), pct(baseline.featureAcc1)],
    ["feature Acc@3", pct(agent.featureAcc3), pct(baseline.featureAcc3)],
    ["remedy correct", pct(agent.remedyCorrect), pct(baseline.remedyCorrect)],
    ["verified recovery", pct(agent.verifiedRecovery), "n/a (does not act)"],
    ["median detection delay (requests)", num(agent.medianDetectionDelay), num(baseline.medianDetectionDelay)],
    ["median time to recovery (requests)", num(agent.medianTimeToRecovery), "n/a"],
    ["unapproved actions", String(agent.unapprovedActions), "0"],
  ];
}

export function resultRows(results: ScenarioResult[]): string[][] {
  return results.map((r) => [
    `${r.scenario}#${r.seed}`,
    `${r.expect.rootCause}/${r.expect.remedy}`,
    r.detected ? `yes (+${r.detectionDelayRequests ?? 0})` : "no",
    `${r.rootCause}${r.checks.rootCause ? " ✓" : " ✗"}`,
    r.features.slice(0, 3).join(",") || "–",
    `${r.remedy}${r.checks.remedy ? " ✓" : " ✗"}`,
    r.recovered === null ? "n/a" : r.recovered ? "yes" : "no",
    `${acc(r.accuracy.before)} → ${acc(r.accuracy.during)} → ${acc(r.accuracy.after)}`,
    acc(r.accuracy.attainable),
    r.falseAlarm ? "FALSE ALARM" : "",
    `${r.baseline.rootCause}/${r.baseline.remedy}`,
  ]);
}

export const resultHeader = ["scenario", "expected", "detected", "root cause", "features", "remedy", "recovered", "accuracy before → during → after", "attainable", "", "rule baseline"];

function mdTable(header: string[], rows: string[][]): string {
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

function markdown(r: SuiteReport): string {
  return [
    `# mlwatch simulation suite`,
    ``,
    `Started ${r.startedAt}; seeds ${r.seeds.join(", ")}; ${r.results.length} runs.`,
    ``,
    `## Scores`,
    ``,
    mdTable(["score", "agent", "rule-only baseline"], scoreRows(r.agent, r.baseline)),
    ``,
    `## Runs`,
    ``,
    mdTable(resultHeader, resultRows(r.results)),
    ``,
    ...r.results.flatMap((res) => [`### ${res.scenario}#${res.seed}`, ``, ...res.timeline.map((e) => `- request ${e.request}: ${e.kind} — ${e.text}`), ``]),
  ].join("\n");
}

function html(r: SuiteReport): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const table = (header: string[], rows: string[][]) =>
    `<table><tr>${header.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>${rows.map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("")}</table>`;
  const sections = r.results
    .map(
      (res) => `<section><h3>${esc(res.scenario)}#${res.seed}</h3>
<p>expected ${esc(res.expect.rootCause)} → ${esc(res.expect.remedy)}; agent said ${esc(res.rootCause)} → ${esc(res.remedy)}${res.recovered === null ? "" : res.recovered ? ", recovered" : ", not recovered"}</p>
${chart("accuracy (realized, estimated)", res, [(p) => p.accuracy, (p) => p.estimatedAccuracy], [0.5, 1])}
${chart("top feature drift (PSI)", res, [(p) => p.topDriftPsi], null)}
${chart("latency p99 (ms)", res, [(p) => p.p99Ms], null)}
<ul>${res.timeline.map((e) => `<li>request ${e.request}: <b>${e.kind}</b> ${esc(e.text)}</li>`).join("")}</ul></section>`,
    )
    .join("\n");
  return `<!doctype html><html><head><meta charset="utf-8"><title>mlwatch simulation</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}svg{background:#fafafa;border:1px solid #ddd;margin:4px 8px 4px 0}section{margin-top:2em}</style></head>
<body><h1>mlwatch simulation suite</h1><p>Started ${esc(r.startedAt)}; seeds ${r.seeds.join(", ")}; ${r.results.length} runs.</p>
<h2>Scores</h2>${table(["score", "agent", "rule-only baseline"], scoreRows(r.agent, r.baseline))}
<h2>Runs</h2>${table(resultHeader, resultRows(r.results))}
<h2>Each run</h2>${sections}</body></html>`;
}

/** A small line chart; the dashed red line marks the first fault, blue ones the agent's actions. */
function chart(title: string, res: ScenarioResult, series: ((p: SeriesPoint) => number | null)[], range: [number, number] | null): string {
  const W = 340, H = 120, P = 28;
  const points = res.series;
  const values = points.flatMap((p) => series.map((f) => f(p))).filter((v): v is number => v !== null && Number.isFinite(v));
  if (points.length < 2 || values.length === 0) return `<svg width="${W}" height="${H}"><text x="8" y="20">${title}: no data</text></svg>`;
  const [lo, hi] = range ?? [Math.min(0, ...values), Math.max(...values) * 1.1 || 1];
  const x = (req: number) => P + ((W - P - 6) * req) / Math.max(1, res.totalRequests);
  const y = (v: number) => H - 18 - ((H - 32) * (Math.min(hi, Math.max(lo, v)) - lo)) / (hi - lo || 1);
  const colors = ["#1a7f37", "#9a6700"];
  const lines = series.map((f, i) => {
    const pts = points.filter((p) => f(p) !== null).map((p) => `${x(p.request).toFixed(1)},${y(f(p)!).toFixed(1)}`);
    return pts.length > 1 ? `<polyline fill="none" stroke="${colors[i]}" stroke-width="1.5" points="${pts.join(" ")}"/>` : "";
  });
  const marks = [
    ...(res.faultStart !== null ? [`<line x1="${x(res.faultStart)}" x2="${x(res.faultStart)}" y1="14" y2="${H - 18}" stroke="#cf222e" stroke-dasharray="4 3"/>`] : []),
    ...res.timeline.filter((e) => e.kind === "act").map((e) => `<line x1="${x(e.request)}" x2="${x(e.request)}" y1="14" y2="${H - 18}" stroke="#0969da"/>`),
  ];
  return `<svg width="${W}" height="${H}"><text x="6" y="11" font-size="11">${title}</text>
<text x="2" y="${y(hi) + 4}" font-size="9">${hi.toFixed(2)}</text><text x="2" y="${y(lo)}" font-size="9">${lo.toFixed(2)}</text>
${marks.join("")}${lines.join("")}<text x="${P}" y="${H - 4}" font-size="9">0</text><text x="${W - 40}" y="${H - 4}" font-size="9">${res.totalRequests} req</text></svg>`;
}
