import fs from "node:fs";
import path from "node:path";
import { DASH, pct } from "../format.ts";
import type { ScenarioResult, SeriesPoint } from "./result.ts";
import type { Split } from "./scenario.ts";
import { confusionMatrix, detectionByCause, inSplit, scoreBySplit, splitOf, type CauseDetection, type ConfusionMatrix, type Scores } from "./scoring.ts";

/** Agent and rule-only baseline side by side. */
export interface Pair<T> {
  agent: T;
  baseline: T;
}

export interface SuiteReport extends Pair<Scores> {
  startedAt: string;
  seeds: number[];
  results: ScenarioResult[];
  /** agent and baseline above are over all runs; these over each part of the suite alone. */
  splits: Record<Split, Pair<Scores>>;
  /** Root cause expected × diagnosed, over all runs and over each part. */
  confusion: Record<Split | "all", Pair<ConfusionMatrix>>;
  /** Detection and its median delay per expected root cause, over all runs and over each part. */
  detectionByCause: Record<Split | "all", Pair<CauseDetection[]>>;
}

/** Scores, confusion matrices and per-cause delays of a set of results: what the report and the CLI print. */
export function suiteReport(startedAt: string, results: ScenarioResult[]): SuiteReport {
  const agent = (r: ScenarioResult) => r;
  const baseline = (r: ScenarioResult) => r.baseline;
  const a = scoreBySplit(results, agent, true);
  const b = scoreBySplit(results, baseline, false);
  const per = <T>(f: (rs: ScenarioResult[]) => T) => ({ all: f(results), tune: f(inSplit(results, "tune")), holdout: f(inSplit(results, "holdout")) });
  return {
    startedAt,
    seeds: [...new Set(results.map((r) => r.seed))],
    results,
    agent: a.all,
    baseline: b.all,
    splits: { tune: { agent: a.tune, baseline: b.tune }, holdout: { agent: a.holdout, baseline: b.holdout } },
    confusion: per((rs) => ({ agent: confusionMatrix(rs, agent), baseline: confusionMatrix(rs, baseline) })),
    detectionByCause: per((rs) => ({ agent: detectionByCause(rs, agent), baseline: detectionByCause(rs, baseline) })),
  };
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

const pctWhole = (x: number | null) => pct(x, 0, DASH);
const pctTenth = (x: number | null) => pct(x, 1, DASH);
const num = (x: number | null) => (x === null ? "–" : String(Math.round(x)));

export function scoreRows(agent: Scores, baseline: Scores): string[][] {
  return [
    ["detection rate", pctWhole(agent.detectionRate), pctWhole(baseline.detectionRate)],
    ["false-alarm rate", pctWhole(agent.falseAlarmRate), pctWhole(baseline.falseAlarmRate)],
    ["root cause exact", pctWhole(agent.rootCauseExact), pctWhole(baseline.rootCauseExact)],
    ["feature Acc@1", pctWhole(agent.featureAcc1), pctWhole(baseline.featureAcc1)],
    ["feature Acc@3", pctWhole(agent.featureAcc3), pctWhole(baseline.featureAcc3)],
    ["remedy correct", pctWhole(agent.remedyCorrect), pctWhole(baseline.remedyCorrect)],
    ["verified recovery", pctWhole(agent.verifiedRecovery), "n/a (does not act)"],
    ["median detection delay (requests)", num(agent.medianDetectionDelay), num(baseline.medianDetectionDelay)],
    ["median time to recovery (requests)", num(agent.medianTimeToRecovery), "n/a"],
    ["unapproved actions", String(agent.unapprovedActions), "0"],
  ];
}

/** The headline scores per part of the suite, one row per detector and part (a table narrow enough for a terminal). */
export const splitHeader = ["part", "runs", "detection", "false alarms", "root cause", "feature Acc@1", "remedy", "recovery", "median delay"];

export function splitRows(report: SuiteReport): string[][] {
  const row = (label: string, s: Scores, withRecovery: boolean) => [
    label,
    `${s.runs} (${s.faultRuns} faults, ${s.controlRuns} controls)`,
    pctWhole(s.detectionRate),
    pctWhole(s.falseAlarmRate),
    pctWhole(s.rootCauseExact),
    pctWhole(s.featureAcc1),
    pctWhole(s.remedyCorrect),
    withRecovery ? pctWhole(s.verifiedRecovery) : "n/a",
    num(s.medianDetectionDelay),
  ];
  return [
    row("agent · all", report.agent, true),
    row("agent · tune", report.splits.tune.agent, true),
    row("agent · holdout", report.splits.holdout.agent, true),
    row("rule baseline · all", report.baseline, false),
    row("rule baseline · tune", report.splits.tune.baseline, false),
    row("rule baseline · holdout", report.splits.holdout.baseline, false),
  ];
}

/** Header and rows of a confusion matrix: one row per expected cause, one column per diagnosed cause, and the share right. */
export function confusionTable(m: ConfusionMatrix): { header: string[]; rows: string[][] } {
  const header = ["expected ↓ diagnosed →", ...m.diagnosed, "right"];
  const rows = m.expected.map((cause, i) => {
    const counts = m.counts[i]!;
    const total = counts.reduce((a, b) => a + b, 0);
    const right = counts[m.diagnosed.indexOf(cause)] ?? 0;
    return [cause, ...counts.map((n) => (n === 0 ? "·" : String(n))), `${right}/${total}`];
  });
  return { header, rows };
}

export const causeHeader = ["expected cause", "runs", "agent detected", "agent right cause", "agent median delay", "baseline detected", "baseline right cause", "baseline median delay"];

export function causeRows(d: Pair<CauseDetection[]>): string[][] {
  return d.agent.map((a, i) => {
    const b = d.baseline[i]!;
    return [a.cause, String(a.runs), `${a.detected}`, `${a.rightCause}`, num(a.medianDetectionDelay), `${b.detected}`, `${b.rightCause}`, num(b.medianDetectionDelay)];
  });
}

export function resultRows(results: ScenarioResult[]): string[][] {
  return results.map((r) => [
    `${r.scenario}#${r.seed}${splitOf(r) === "holdout" ? " (holdout)" : ""}`,
    `${r.expect.rootCause}/${r.expect.remedy}`,
    r.detected ? `yes (+${r.detectionDelayRequests ?? 0})` : "no",
    `${r.rootCause}${r.checks.rootCause ? " ✓" : " ✗"}`,
    r.features.slice(0, 3).join(",") || "–",
    `${r.remedy}${r.checks.remedy ? " ✓" : " ✗"}`,
    r.recovered === null ? "n/a" : r.recovered ? "yes" : "no",
    `${pctTenth(r.accuracy.before)} → ${pctTenth(r.accuracy.during)} → ${pctTenth(r.accuracy.after)}`,
    pctTenth(r.accuracy.attainable),
    r.falseAlarm ? "FALSE ALARM" : "",
    `${r.baseline.rootCause}/${r.baseline.remedy}`,
  ]);
}

export const resultHeader = ["scenario", "expected", "detected", "root cause", "features", "remedy", "recovered", "accuracy before → during → after", "attainable", "", "rule baseline"];

function mdTable(header: string[], rows: string[][]): string {
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

/** Which scenarios are in each part, named once (seeds repeat them). */
function partLine(r: SuiteReport, split: Split): string {
  const names = [...new Set(inSplit(r.results, split).map((x) => x.scenario))];
  return `${split}: ${inSplit(r.results, split).length} runs of ${names.length} scenarios${names.length ? ` (${names.join(", ")})` : ""}.`;
}

const splitIntro =
  "Thresholds may be tuned on the tune part only; the holdout part (in the suite: scenario files whose number is a multiple of 3, and 38–57, written blind after the thresholds were set) is scored apart to show whether they generalise.";

function markdown(r: SuiteReport): string {
  const confusion = (title: string, m: ConfusionMatrix) => {
    const t = confusionTable(m);
    return [`### ${title}`, ``, m.expected.length ? mdTable(t.header, t.rows) : "(no runs)", ``];
  };
  return [
    `# mlwatch simulation suite`,
    ``,
    `Started ${r.startedAt}; seeds ${r.seeds.join(", ")}; ${r.results.length} runs.`,
    ``,
    `## Scores`,
    ``,
    mdTable(["score", "agent", "rule-only baseline"], scoreRows(r.agent, r.baseline)),
    ``,
    `## Scores by part: tune and holdout`,
    ``,
    splitIntro,
    ``,
    `- ${partLine(r, "tune")}`,
    `- ${partLine(r, "holdout")}`,
    ``,
    mdTable(splitHeader, splitRows(r)),
    ``,
    mdTable(["score", "agent · tune", "agent · holdout", "rule baseline · tune", "rule baseline · holdout"], scoreRows(r.splits.tune.agent, r.splits.tune.baseline).map((row, i) => {
      const holdout = scoreRows(r.splits.holdout.agent, r.splits.holdout.baseline)[i]!;
      return [row[0]!, row[1]!, holdout[1]!, row[2]!, holdout[2]!];
    })),
    ``,
    `## Root cause: expected × diagnosed`,
    ``,
    `Rows: the scenario's expected root cause (none = a control); columns: what was diagnosed (none = nothing detected).`,
    ``,
    ...confusion("agent, all runs", r.confusion.all.agent),
    ...confusion("agent, tune", r.confusion.tune.agent),
    ...confusion("agent, holdout", r.confusion.holdout.agent),
    ...confusion("rule-only baseline, all runs", r.confusion.all.baseline),
    `## Detection delay per expected cause`,
    ``,
    `Fault runs only; delay in requests from the first fault to the incident, median over the runs detected.`,
    ``,
    ...(["all", "tune", "holdout"] as const).flatMap((part) => [`### ${part}`, ``, r.detectionByCause[part].agent.length ? mdTable(causeHeader, causeRows(r.detectionByCause[part])) : "(no fault runs)", ``]),
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
<h2>Scores by part: tune and holdout</h2><p>${esc(splitIntro)}</p><ul><li>${esc(partLine(r, "tune"))}</li><li>${esc(partLine(r, "holdout"))}</li></ul>
${table(splitHeader, splitRows(r))}
<h2>Root cause: expected × diagnosed</h2><p>Rows: the scenario's expected root cause (none = a control); columns: what was diagnosed (none = nothing detected).</p>
${([["agent, all runs", r.confusion.all.agent], ["agent, tune", r.confusion.tune.agent], ["agent, holdout", r.confusion.holdout.agent], ["rule-only baseline, all runs", r.confusion.all.baseline]] as const)
  .map(([title, m]) => `<h3>${esc(title)}</h3>${m.expected.length ? table(confusionTable(m).header, confusionTable(m).rows) : "<p>(no runs)</p>"}`)
  .join("\n")}
<h2>Detection delay per expected cause</h2><p>Fault runs only; delay in requests from the first fault to the incident, median over the runs detected.</p>
${(["all", "tune", "holdout"] as const).map((part) => `<h3>${part}</h3>${r.detectionByCause[part].agent.length ? table(causeHeader, causeRows(r.detectionByCause[part])) : "<p>(no fault runs)</p>"}`).join("\n")}
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
