import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { saveIncident } from "../../incidents/incident-store.ts";
import { incidentRecord } from "../helpers/incidents.ts";
import { seedDriftScenario, type DriftScenario, type ScenarioWindow } from "../helpers/seed-store.ts";
import { tempStore, type TempStore } from "../helpers/temp-store.ts";
import { exportedSeries } from "./exported-series.ts";
import { expandPanelSql, type PanelContext } from "./grafana-macros.ts";

// Every ClickHouse query of every provisioned dashboard (panels, annotations, variables) runs here,
// expanded as Grafana and the ClickHouse plugin would expand it, against an embedded store holding
// seedDriftScenario: five hours of a credit model whose income drifts, with shadow and canary traffic.

const ROOT = path.resolve(import.meta.dirname, "../..");
const DASHBOARDS = path.join(ROOT, "deploy/grafana/dashboards");
const CLICKHOUSE_PLUGIN = "grafana-clickhouse-datasource";

interface Target {
  refId: string;
  datasource: { type: string; uid: string };
  rawSql?: string;
  queryType?: string;
  expr?: string;
}
interface Panel {
  title: string;
  type: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  panels: Panel[];
  annotations: { list: { name: string; datasource: { type: string; uid: string }; target?: Target }[] };
  templating: { list: { name: string; type: string; query: string | Target }[] };
}
interface Query {
  where: string;
  target: Target;
}

const dashboards: Dashboard[] = fs
  .readdirSync(DASHBOARDS)
  .filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(fs.readFileSync(path.join(DASHBOARDS, f), "utf8")) as Dashboard);
const overview = dashboards.find((d) => d.uid === "mlwatch-model-overview")!;

function clickhouseQueries(d: Dashboard): Query[] {
  const panels = d.panels.flatMap((p) => (p.targets ?? []).filter((t) => t.datasource.type === CLICKHOUSE_PLUGIN).map((target) => ({ where: `panel '${p.title}'`, target })));
  const annotations = d.annotations.list.filter((a) => a.target?.datasource.type === CLICKHOUSE_PLUGIN).map((a) => ({ where: `annotation '${a.name}'`, target: a.target! }));
  const variables = d.templating.list.filter((v) => typeof v.query === "object" && v.query.rawSql).map((v) => ({ where: `variable '${v.name}'`, target: v.query as Target }));
  return [...panels, ...annotations, ...variables];
}

function panelTarget(title: string): Target {
  const panel = overview.panels.find((p) => p.title === title);
  if (!panel?.targets?.[0]) throw new Error(`no panel '${title}' in the overview dashboard`);
  return panel.targets[0];
}

/** ClickHouse's DateTime as JSON ('YYYY-MM-DD hh:mm:ss', UTC here) to epoch ms. */
const timeMs = (value: unknown) => Date.parse(`${String(value).replace(" ", "T")}Z`);
const inWindow = (w: ScenarioWindow) => (row: { time: string }) => timeMs(row.time) * 1000 >= w.fromUs && timeMs(row.time) * 1000 + INTERVAL_S * 1e6 <= w.toUs;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const INTERVAL_S = 300;

let t: TempStore;
let scenario: DriftScenario;
let ctx: PanelContext;

async function run<T>(target: Target): Promise<T[]> {
  return t.store.rows<T>(expandPanelSql(target.rawSql!, ctx));
}

beforeAll(async () => {
  t = await tempStore();
  scenario = await seedDriftScenario(t.store, t.config.modelDir);
  // One closed incident during the drifted hour, as the agent records it.
  const openedAt = new Date(scenario.windows.drifted.fromUs / 1000 + 600_000).toISOString();
  const closedAt = new Date(scenario.windows.drifted.fromUs / 1000 + 1_800_000).toISOString();
  const diagnosis = { rootCause: "covariate_shift", category: "data", features: ["income"], confidence: 0.8, remedy: "retrain", explanation: "income moved", reasoner: "deterministic" };
  await saveIncident(t.store, incidentRecord({ incidentId: "inc-dash", model: scenario.model, status: "recovered", openedAt, closedAt, diagnosis }), "test", Date.now() * 1000);
  ctx = {
    fromMs: scenario.windows.baseline.fromUs / 1000 - 3600_000,
    toMs: Date.now() + 60_000,
    intervalSeconds: INTERVAL_S,
    variables: { database: t.store.database, model: scenario.model },
  };
});

afterAll(async () => {
  await t?.cleanup();
});

describe("provisioned dashboards", () => {
  it("exist, use only the provisioned datasources, and the overview has ClickHouse panels and a deployments annotation", () => {
    const provisioned = parse(fs.readFileSync(path.join(ROOT, "deploy/grafana/provisioning/datasources/datasources.yml"), "utf8")) as { datasources: { uid: string; type: string }[] };
    const known = new Set(provisioned.datasources.map((d) => `${d.type}/${d.uid}`));
    expect(overview).toBeDefined();
    for (const d of dashboards) {
      for (const p of d.panels) {
        for (const target of p.targets ?? []) expect(known, `${d.uid} '${p.title}' ${target.refId}`).toContain(`${target.datasource.type}/${target.datasource.uid}`);
      }
    }
    expect(clickhouseQueries(overview).length).toBeGreaterThanOrEqual(7);
    expect(overview.annotations.list.some((a) => a.name === "Deployments" && a.datasource.type === CLICKHOUSE_PLUGIN)).toBe(true);
  });

  it("Prometheus panels query only metrics the service exports or the recording rules record", () => {
    const exported = exportedSeries();
    const rules = fs
      .readdirSync(path.join(ROOT, "deploy/prometheus/rules"))
      .flatMap((f) => (parse(fs.readFileSync(path.join(ROOT, "deploy/prometheus/rules", f), "utf8")) as { groups: { rules: { record?: string }[] }[] }).groups)
      .flatMap((g) => g.rules.map((r) => r.record).filter((r): r is string => !!r));
    const known = new Set([...exported, ...rules]);
    const exprs = dashboards.flatMap((d) => d.panels.flatMap((p) => (p.targets ?? []).filter((t) => t.expr).map((t) => ({ where: `${d.uid} '${p.title}'`, expr: t.expr! }))));
    expect(exprs.length).toBeGreaterThan(0);
    for (const { where, expr } of exprs) {
      const names = metricNames(expr);
      expect(names.length, where).toBeGreaterThan(0);
      for (const name of names) expect(known, `${where}: ${name}`).toContain(name);
    }
  });

  it("every ClickHouse query runs against the store and returns rows; time series lead with a time column and numeric values", async () => {
    const queries = dashboards.flatMap(clickhouseQueries);
    for (const { where, target } of queries) {
      const rows = await run<Record<string, unknown>>(target).catch((err: unknown) => {
        throw new Error(`${where}: ${err instanceof Error ? err.message : String(err)}`);
      });
      expect(rows.length, where).toBeGreaterThan(0);
      if (target.queryType === "timeSeries") {
        expect(Object.keys(rows[0]!)[0], where).toBe("time");
        for (const row of rows) {
          expect(Number.isFinite(timeMs(row.time)), where).toBe(true);
          const values = Object.values(row).filter((v) => typeof v === "number");
          expect(values.length, where).toBeGreaterThan(0);
          for (const v of values) expect(Number.isFinite(v), `${where}: ${JSON.stringify(row)}`).toBe(true);
        }
      }
    }
  });
});

describe("the overview's ClickHouse panels say what the scenario did", () => {
  it("drift: income's PSI is major while it is shifted and small before; no other feature moves as much", async () => {
    const rows = await run<{ time: string; feature: string; version: string; psi: number }>(panelTarget("Feature drift against the training baseline (PSI)"));
    const v1 = rows.filter((r) => r.version === `v${scenario.v1.version}`);
    const income = (w: ScenarioWindow) => mean(v1.filter((r) => r.feature === "income").filter(inWindow(w)).map((r) => r.psi));
    expect(income(scenario.windows.baseline)).toBeLessThan(0.1);
    expect(income(scenario.windows.drifted)).toBeGreaterThan(0.25);
    const drifted = v1.filter(inWindow(scenario.windows.drifted));
    const others = drifted.filter((r) => r.feature !== "income");
    expect(others.length).toBeGreaterThan(0);
    expect(Math.max(...others.map((r) => r.psi))).toBeLessThan(income(scenario.windows.drifted));
  });

  it("realized accuracy: v1 falls once the concept shifts; every value is a share", async () => {
    const rows = await run<{ time: string; version: string; accuracy: number }>(panelTarget("Realized accuracy by version (labelled predictions)"));
    for (const r of rows) {
      expect(r.accuracy).toBeGreaterThanOrEqual(0);
      expect(r.accuracy).toBeLessThanOrEqual(1);
    }
    const v1 = rows.filter((r) => r.version === `v${scenario.v1.version}`);
    const acc = (w: ScenarioWindow) => mean(v1.filter(inWindow(w)).map((r) => r.accuracy));
    const seeded = scenario.seeded;
    expect(acc(scenario.windows.baseline)).toBeCloseTo(seeded.baseline.correct / seeded.baseline.labelled, 1);
    expect(acc(scenario.windows.drifted)).toBeLessThan(acc(scenario.windows.baseline) - 0.05);
    expect(new Set(rows.map((r) => r.version))).toEqual(new Set([`v${scenario.v1.version}`, `v${scenario.v2.version}`]));
  });

  it("estimated accuracy: a share per version, near the realized accuracy where the population is the training one", async () => {
    const rows = await run<{ time: string; version: string; estimated_accuracy: number }>(panelTarget("Estimated accuracy by version (CBPE, 10 confidence bins)"));
    for (const r of rows) {
      expect(r.estimated_accuracy).toBeGreaterThan(0);
      expect(r.estimated_accuracy).toBeLessThanOrEqual(1);
    }
    const baseline = rows.filter((r) => r.version === `v${scenario.v1.version}`).filter(inWindow(scenario.windows.baseline));
    expect(mean(baseline.map((r) => r.estimated_accuracy))).toBeCloseTo(scenario.seeded.baseline.correct / scenario.seeded.baseline.labelled, 1);
  });

  it("label coverage: every seeded prediction is labelled, so every bucket is 1", async () => {
    const rows = await run<{ time: string; label_coverage: number }>(panelTarget("Label coverage"));
    expect(rows.length).toBeGreaterThan(30);
    for (const r of rows) expect(r.label_coverage).toBe(1);
  });

  it("confidence distribution: the bins add up to the served predictions of each version", async () => {
    const rows = await run<{ confidence: string; version: string; predictions: number }>(panelTarget("Confidence distribution by version"));
    const total = (version: string) => rows.filter((r) => r.version === `v${version}`).reduce((n, r) => n + r.predictions, 0);
    const s = scenario.seeded;
    expect(total(scenario.v1.version)).toBe(s.baseline.answered + s.drifted.answered + s.canaryV1.answered);
    expect(total(scenario.v2.version)).toBe(s.canaryV2.answered);
    for (const r of rows) expect(Number(r.confidence)).toBeGreaterThanOrEqual(0.5);
  });

  it("deployments: the table and the annotation show the seeded deploy with its actor and reason", async () => {
    const table = await run<{ action: string; version: string; actor: string }>(panelTarget("Deployment history"));
    expect(table).toContainEqual(expect.objectContaining({ action: "deploy", version: `v${scenario.v1.version}`, actor: "seed" }));
    const annotation = overview.annotations.list.find((a) => a.name === "Deployments")!.target!;
    const notes = await run<{ time: string; text: string; tags: string }>(annotation);
    expect(notes).toContainEqual(expect.objectContaining({ text: `deploy v${scenario.v1.version} by seed: seeded drift scenario`, tags: "deploy" }));
  });

  it("incidents: the annotation spans each incident of the model from opening to closing, with its summary and status", async () => {
    const annotation = overview.annotations.list.find((a) => a.name === "Incidents")!.target!;
    const notes = await run<{ time: string; timeEnd: string; text: string; tags: string }>(annotation);
    expect(notes).toEqual([{ time: expect.any(String), timeEnd: expect.any(String), text: "incident inc-dash: covariate_shift (data), remedy retrain [recovered]", tags: "recovered" }]);
    expect(timeMs(notes[0]!.timeEnd) - timeMs(notes[0]!.time)).toBe(1_200_000);
  });

  it("the model variable lists the registered model", async () => {
    const variable = overview.templating.list.find((v) => v.name === "model")!;
    expect(await run<{ model: string }>(variable.query as Target)).toEqual([{ model: scenario.model }]);
  });
});

/** Series names in a PromQL expression: what is left once strings, matchers, ranges, grouping lists, functions and keywords are removed. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"[^"]*"/g, "")
    .replace(/\{[^}]*\}|\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names = new Set<string>();
  for (const m of bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (!m[2] && !KEYWORDS.has(m[1]!)) names.add(m[1]!);
  }
  return [...names];
}

const KEYWORDS = new Set(["and", "or", "unless", "bool", "offset"]);
