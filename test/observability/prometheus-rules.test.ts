import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { debianTool } from "./debian-tool.ts";
import { exportedSeries } from "./exported-series.ts";

// promtool checks and unit-tests the rules (deploy/prometheus/tests/*.yml); these tests also hold
// the rules to the metrics the service really exports and to a test per alert, both ways.

const ROOT = path.resolve(import.meta.dirname, "../..");
const PROM = path.join(ROOT, "deploy/prometheus");
const ruleFiles = fs.readdirSync(path.join(PROM, "rules")).map((f) => path.join(PROM, "rules", f));
const testFiles = fs.readdirSync(path.join(PROM, "tests")).map((f) => path.join(PROM, "tests", f));

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
}
const rules: Rule[] = ruleFiles.flatMap((f) => (parse(fs.readFileSync(f, "utf8")) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules));

let promtool: string;

function promtoolRun(args: string[]) {
  const r = spawnSync(promtool, args, { cwd: ROOT, encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

beforeAll(() => {
  promtool = debianTool("promtool", "prometheus");
});

describe("Prometheus rules", () => {
  it("promtool check rules and check config pass", () => {
    const rulesCheck = promtoolRun(["check", "rules", ...ruleFiles]);
    expect(rulesCheck.output).toMatch(/SUCCESS/);
    expect(rulesCheck.status, rulesCheck.output).toBe(0);
    const configCheck = promtoolRun(["check", "config", path.join(PROM, "prometheus.yml")]);
    expect(configCheck.status, configCheck.output).toBe(0);
  });

  it("promtool test rules passes every unit test", () => {
    const result = promtoolRun(["test", "rules", ...testFiles]);
    expect(result.output).not.toMatch(/FAILED/);
    expect(result.output.match(/SUCCESS/g)?.length).toBe(testFiles.length);
    expect(result.status, result.output).toBe(0);
  });

  it("every alert has a unit test where it fires and one where it stays quiet", () => {
    type AlertTest = { alertname: string; exp_alerts?: unknown[] };
    const cases = testFiles.flatMap((f) => (parse(fs.readFileSync(f, "utf8")) as { tests: { alert_rule_test?: AlertTest[] }[] }).tests.flatMap((t) => t.alert_rule_test ?? []));
    const alerts = rules.filter((r) => r.alert).map((r) => r.alert!);
    expect(alerts.length).toBeGreaterThanOrEqual(8);
    for (const alert of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${alert} fires somewhere`).toBe(true);
      expect(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${alert} stays quiet somewhere`).toBe(true);
    }
  });

  it("model alerts carry the model label the agent's webhook requires", () => {
    const cases = testFiles.flatMap((f) =>
      (parse(fs.readFileSync(f, "utf8")) as { tests: { alert_rule_test?: { alertname: string; exp_alerts?: { exp_labels: Record<string, string> }[] }[] }[] }).tests.flatMap((t) => t.alert_rule_test ?? []),
    );
    for (const c of cases.filter((x) => x.alertname.startsWith("Model"))) {
      for (const a of c.exp_alerts ?? []) expect(a.exp_labels.model, c.alertname).toMatch(/.+/);
    }
  });

  it("read only series the service exports or other rules record", () => {
    const exported = exportedSeries();
    const known = new Set([...exported, ...rules.filter((r) => r.record).map((r) => r.record!)]);
    for (const rule of rules) {
      const series = [...rule.expr.matchAll(/\b((?:model|mlwatch|http)[a-z0-9_:]*)\s*[{[)\s]/g)].map((m) => m[1]!).filter((n) => n !== "model");
      expect(series.length, rule.record ?? rule.alert).toBeGreaterThan(0);
      for (const name of series) expect(known, `${rule.record ?? rule.alert}: ${name}`).toContain(name);
    }
  });
});
