import path from "node:path";
import type { Command } from "../command.ts";
import { parse, printTable, UsageError } from "../command.ts";
import { runScenarios } from "../../simulations/runner.ts";
import { causeHeader, causeRows, confusionTable, resultHeader, resultRows, scoreRows, splitHeader, splitRows, suiteReport, writeReport } from "../../simulations/report.ts";
import { loadScenarioFile, loadSuite, scaled, withSeeds } from "../../simulations/suite.ts";

const usage = `usage: mlwatch simulate [--scenario file.json ...] [--seeds N] [--scale F] [--json] [--report-dir DIR]

Injects drift and faults into realistic traffic against the real inference service, MCP server and
agent (all in this process, over HTTP on loopback, on a virtual clock), approves the agent's
proposals automatically (as MLWATCH_AUTO_APPROVE would) and scores detection, diagnosis, remedy,
verified recovery and false alarms, beside a rule-only baseline.

  --scenario f   run this scenario file (repeatable); default: every file in simulations/scenarios/
  --seeds N      run each scenario under N seeds (default 1)
  --scale F      multiply every phase's request count by F (default 1; 0.5 halves the run)
  --json         print one JSON result (the scenario's, or the suite's) and nothing else
  --report-dir   where suite.json, suite.md and suite.html go (default reports/<timestamp>); they are
                 rewritten after every run, so a suite cut short keeps what it measured
The scenario file format is simulations/scenario.schema.json.`;

const options = {
  scenario: { type: "string", multiple: true },
  seeds: { type: "string", default: "1" },
  scale: { type: "string", default: "1" },
  json: { type: "boolean", default: false },
  "report-dir": { type: "string" },
} as const;

export const simulateCommand: Command = {
  name: "simulate",
  summary: "run drift and fault scenarios through the whole loop and score it",
  usage,
  async run(argv) {
    const { values } = parse(argv, options);
    const seeds = Number(values.seeds);
    const factor = Number(values.scale);
    if (!Number.isInteger(seeds) || seeds < 1) throw new UsageError(`--seeds must be a positive whole number, not '${values.seeds}'`);
    if (!(factor > 0 && factor <= 10)) throw new UsageError(`--scale must be a number in (0, 10], not '${values.scale}'`);
    const files = values.scenario ?? [];
    const base = files.length > 0 ? files.map(loadScenarioFile) : loadSuite();
    const entries = withSeeds(factor === 1 ? base : scaled(base, factor), seeds);
    const progress = values.json ? () => undefined : (line: string) => console.log(line);
    const startedAt = new Date().toISOString();
    const dir = values["report-dir"] ?? path.join("reports", startedAt.replace(/[:.]/g, "-"));
    // runScenarios answers one result per entry, in order: each result carries its scenario's part of the suite.
    const results = await runScenarios(entries, { progress, onResult: (sofar) => writeReport(dir, suiteReport(startedAt, [...sofar])) });
    const report = suiteReport(startedAt, results);
    const written = writeReport(dir, report);
    if (values.json) {
      const suite = { agent: report.agent, baseline: report.baseline, splits: report.splits, confusion: report.confusion, detectionByCause: report.detectionByCause, results };
      console.log(JSON.stringify(results.length === 1 ? results[0] : suite, (k, v) => (k === "series" ? undefined : v)));
      return;
    }
    console.log("");
    printTable(resultRows(results).map((row) => Object.fromEntries(resultHeader.map((h, i) => [h || " ", row[i]]))));
    console.log("");
    printTable(scoreRows(report.agent, report.baseline).map(([s, a, b]) => ({ score: s, agent: a, "rule-only baseline": b })));
    console.log("\nby part of the suite (tune: thresholds may be tuned on it; holdout: untouched)");
    printTable(splitRows(report).map((row) => Object.fromEntries(splitHeader.map((h, i) => [h, row[i]]))));
    const confusion = confusionTable(report.confusion.all.agent);
    console.log("\nagent's root cause, expected × diagnosed (all runs)");
    printTable(confusion.rows.map((row) => Object.fromEntries(confusion.header.map((h, i) => [h, row[i]]))));
    const causes = causeRows(report.detectionByCause.all);
    if (causes.length > 0) {
      console.log("\ndetection per expected cause (delay in requests, median of the detected runs)");
      printTable(causes.map((row) => Object.fromEntries(causeHeader.map((h, i) => [h, row[i]]))));
    }
    console.log(`\nreport: ${written.join(", ")}`);
  },
};
