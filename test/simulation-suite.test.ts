/**
 * The scenario suite as a whole (its breadth, its tune/holdout split, the data it reads) and the
 * scoring of the two parts, the root-cause confusion matrix and the per-cause detection delays on
 * hand-made results. Nothing here runs a simulation.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { creditSchema } from "../models/datasets/credit.ts";
import { loadCsv } from "../models/datasets/csv.ts";
import { hyperplaneSchema } from "../models/datasets/hyperplane.ts";
import type { ModelSchema } from "../models/schema.ts";
import { fraudCsv } from "../simulations/data/make-fraud-csv.ts";
import { pumpsCsv } from "../simulations/data/make-pumps-csv.ts";
import { confusionTable, splitRows, suiteReport } from "../simulations/report.ts";
import type { ScenarioResult, Verdict } from "../simulations/result.ts";
import { parseScenario, type Scenario } from "../simulations/scenario.ts";
import { confusionMatrix, detectionByCause, score, scoreBySplit, splitOf } from "../simulations/scoring.ts";
import { loadSuite, SUITE_DIR } from "../simulations/suite.ts";
import { checkInjections } from "../simulations/traffic.ts";

const suite = loadSuite();
const files = fs.readdirSync(SUITE_DIR).filter((f) => f.endsWith(".json")).sort();

function datasetKey(s: Scenario, dir: string): string {
  return "csv" in s.dataset ? path.resolve(dir, s.dataset.csv) : s.dataset.generator;
}

function schemaOf(s: Scenario, dir: string): ModelSchema {
  const ds = s.dataset;
  if ("csv" in ds) return loadCsv(path.resolve(dir, ds.csv), ds.label).schema;
  return ds.generator === "credit" ? creditSchema : hyperplaneSchema(10);
}

describe("the scenario suite", () => {
  it("is broad: at least 25 scenarios over at least 4 data sets, at least 6 controls, one of them harmless drift", () => {
    expect(suite.length).toBeGreaterThanOrEqual(25);
    expect(new Set(suite.map((e) => datasetKey(e.scenario, e.dir))).size).toBeGreaterThanOrEqual(4);
    const controls = suite.filter((e) => e.scenario.expect.rootCause === "none");
    expect(controls.length).toBeGreaterThanOrEqual(6);
    expect(controls.some((e) => e.scenario.phases.some((p) => p.inject.some((i) => i.type === "covariate_shift")))).toBe(true);
    // Combined faults and partial ones are there too.
    expect(suite.some((e) => e.scenario.phases.some((p) => p.inject.length >= 2) && e.scenario.expect.rootCause !== "none")).toBe(true);
    expect(suite.some((e) => e.scenario.phases.some((p) => p.inject.some((i) => "fraction" in i && i.fraction < 0.5)))).toBe(true);
  });

  it("has unique names, and every injected feature exists in its data set with the right type", () => {
    expect(new Set(suite.map((e) => e.scenario.name)).size).toBe(suite.length);
    for (const e of suite) expect(checkInjections(e.scenario, schemaOf(e.scenario, e.dir)), e.scenario.name).toEqual([]);
  });

  it("reads only CSV files that exist, and the generated CSVs are what their generators write", () => {
    for (const e of suite) {
      const ds = e.scenario.dataset;
      if ("csv" in ds) expect(fs.existsSync(path.resolve(e.dir, ds.csv)), `${e.scenario.name}: ${ds.csv}`).toBe(true);
    }
    expect(fs.readFileSync(path.join(SUITE_DIR, "../data/fraud.csv"), "utf8")).toBe(fraudCsv());
    expect(fs.readFileSync(path.join(SUITE_DIR, "../data/pumps.csv"), "utf8")).toBe(pumpsCsv());
  });

  it("is split by the stated rule: holdout exactly when the file's number is a multiple of 3 or 38 and up (written blind); both parts hold faults and controls", () => {
    expect(files.length).toBe(suite.length);
    files.forEach((file, k) => {
      const n = Number(file.split("-")[0]);
      const holdout = n % 3 === 0 || n >= 38;
      expect(suite[k]!.scenario.split, file).toBe(holdout ? "holdout" : "tune");
    });
    for (const split of ["tune", "holdout"] as const) {
      const part = suite.filter((e) => e.scenario.split === split);
      expect(part.some((e) => e.scenario.expect.rootCause === "none"), split).toBe(true);
      expect(part.some((e) => e.scenario.expect.rootCause !== "none"), split).toBe(true);
    }
    const share = suite.filter((e) => e.scenario.split === "holdout").length / suite.length;
    expect(share).toBeGreaterThan(0.25);
    // Every blind batch is holdout, so the holdout part has outgrown the tune part; the tune part must still be a real one.
    expect(share).toBeLessThan(0.6);
  });

  it("defaults split to tune and refuses any other value", () => {
    const base = { name: "x", dataset: { generator: "credit" }, phases: [{ name: "p", requests: 100 }], expect: { rootCause: "none", category: "none", remedy: "none" } };
    expect(parseScenario(base).split).toBe("tune");
    expect(parseScenario({ ...base, split: "holdout" }).split).toBe("holdout");
    expect(() => parseScenario({ ...base, split: "test" }, "f.json")).toThrow(/^f\.json: split: /);
  });
});

const nothing: Verdict = { detected: false, detectionDelayRequests: null, rootCause: "none", category: "none", features: [], remedy: "none", falseAlarm: false };

/** A result with the agent's verdict `said` (and the baseline's, when given) for a scenario expecting `expected`. */
function result(name: string, split: "tune" | "holdout" | undefined, expected: [string, string[], string], said: Partial<Verdict> | null, baseline: Partial<Verdict> | null = null): ScenarioResult {
  const [rootCause, features, remedy] = expected;
  const verdict = (v: Partial<Verdict> | null): Verdict => (v ? { ...nothing, detected: true, category: "data", ...v } : nothing);
  const agent = verdict(said);
  return {
    scenario: name,
    seed: 1,
    ...(split ? { split } : {}),
    expect: { rootCause: rootCause as Scenario["expect"]["rootCause"], category: rootCause === "none" ? "none" : "data", features, remedy: remedy as Scenario["expect"]["remedy"] },
    ...agent,
    approved: agent.detected,
    recovered: null,
    timeToRecoveryRequests: null,
    accuracy: { before: 0.95, during: 0.9, after: null, attainable: null },
    unapprovedActions: 0,
    faultStart: rootCause === "none" ? null : 3000,
    totalRequests: 8000,
    checks: { rootCause: true, category: true, features: true, remedy: true, detected: true, noFalseAlarm: true, recovered: null },
    baseline: verdict(baseline),
    series: [],
    timeline: [],
    durationMs: 1,
  };
}

describe("split scoring, confusion matrix and delay per cause", () => {
  const results = [
    // tune: two faults right, one control quiet, one fault diagnosed as the wrong cause
    result("shift", "tune", ["covariate_shift", ["income"], "retrain"], { rootCause: "covariate_shift", features: ["income"], remedy: "retrain", detectionDelayRequests: 250 }, { rootCause: "covariate_shift", features: ["income"], remedy: "retrain", detectionDelayRequests: 500 }),
    result("deploy", "tune", ["bad_deploy", [], "rollback"], { rootCause: "bad_deploy", remedy: "rollback", detectionDelayRequests: 500 }),
    result("control", undefined, ["none", [], "none"], null),
    result("deploy-2", "tune", ["bad_deploy", [], "rollback"], { rootCause: "covariate_shift", features: ["age"], remedy: "retrain", detectionDelayRequests: 1000 }),
    // holdout: one fault missed, one false alarm on a control, one fault right
    result("concept", "holdout", ["concept_drift", [], "retrain"], null, { rootCause: "concept_drift", remedy: "retrain", detectionDelayRequests: 750 }),
    result("harmless", "holdout", ["none", [], "none"], { rootCause: "covariate_shift", features: ["x4"], remedy: "retrain", falseAlarm: true }),
    result("shift-2", "holdout", ["covariate_shift", ["amount"], "retrain"], { rootCause: "covariate_shift", features: ["hour", "amount"], remedy: "retrain", detectionDelayRequests: 750 }),
  ];

  it("scores each part alone and all together; a result without a split counts as tune", () => {
    expect(splitOf(results[2]!)).toBe("tune");
    const s = scoreBySplit(results, (r) => r, true);
    expect(s.all).toEqual(score(results, (r) => r, true));
    expect(s.tune).toMatchObject({ runs: 4, faultRuns: 3, controlRuns: 1, detectionRate: 1, falseAlarmRate: 0, rootCauseExact: 2 / 3, featureAcc1: 1, remedyCorrect: 2 / 3, medianDetectionDelay: 500 });
    expect(s.holdout).toMatchObject({ runs: 3, faultRuns: 2, controlRuns: 1, detectionRate: 0.5, falseAlarmRate: 1 / 3, rootCauseExact: 0.5, featureAcc1: 0, featureAcc3: 1, medianDetectionDelay: 750 });
    expect(s.all).toMatchObject({ runs: 7, faultRuns: 5, controlRuns: 2, detectionRate: 0.8, rootCauseExact: 3 / 5 });
    const base = scoreBySplit(results, (r) => r.baseline, false);
    expect(base.tune).toMatchObject({ detectionRate: 1 / 3, verifiedRecovery: null });
    expect(base.holdout).toMatchObject({ detectionRate: 0.5, falseAlarmRate: 0 });
  });

  it("counts root causes expected × diagnosed; nothing detected is diagnosed none", () => {
    const m = confusionMatrix(results, (r) => r);
    expect(m.expected).toEqual(["covariate_shift", "concept_drift", "bad_deploy", "none"]);
    expect(m.diagnosed).toEqual(["covariate_shift", "concept_drift", "bad_deploy", "none"]);
    const cell = (e: string, d: string) => m.counts[m.expected.indexOf(e)]![m.diagnosed.indexOf(d)];
    expect(cell("covariate_shift", "covariate_shift")).toBe(2);
    expect(cell("bad_deploy", "bad_deploy")).toBe(1);
    expect(cell("bad_deploy", "covariate_shift")).toBe(1);
    expect(cell("concept_drift", "none")).toBe(1);
    expect(cell("none", "none")).toBe(1);
    expect(cell("none", "covariate_shift")).toBe(1);
    expect(m.counts.flat().reduce((a, b) => a + b, 0)).toBe(results.length);
    // A cause nobody expected appears as a column only; an unknown name goes last.
    const odd = confusionMatrix([result("odd", "tune", ["error_spike", [], "escalate"], { rootCause: "gremlins" })], (r) => r);
    expect(odd).toEqual({ expected: ["error_spike"], diagnosed: ["error_spike", "gremlins"], counts: [[0, 1]] });
    const table = confusionTable(m);
    expect(table.header).toEqual(["expected ↓ diagnosed →", "covariate_shift", "concept_drift", "bad_deploy", "none", "right"]);
    expect(table.rows[2]).toEqual(["bad_deploy", "1", "·", "1", "·", "1/2"]);
  });

  it("gives the median detection delay per expected cause over the detected fault runs", () => {
    expect(detectionByCause(results, (r) => r)).toEqual([
      { cause: "covariate_shift", runs: 2, detected: 2, rightCause: 2, medianDetectionDelay: 500 },
      { cause: "concept_drift", runs: 1, detected: 0, rightCause: 0, medianDetectionDelay: null },
      { cause: "bad_deploy", runs: 2, detected: 2, rightCause: 1, medianDetectionDelay: 750 },
    ]);
    expect(detectionByCause(results, (r) => r.baseline).map((c) => c.medianDetectionDelay)).toEqual([500, 750, null]);
  });

  it("puts all of it in the suite report, per part", () => {
    const report = suiteReport("2024-01-01T00:00:00.000Z", results);
    expect(report.agent).toEqual(score(results, (r) => r, true));
    expect(report.splits.holdout.agent.runs).toBe(3);
    expect(report.confusion.holdout.agent.expected).toEqual(["covariate_shift", "concept_drift", "none"]);
    expect(report.detectionByCause.tune.agent.map((c) => c.cause)).toEqual(["covariate_shift", "bad_deploy"]);
    const rows = splitRows(report);
    expect(rows.map((r) => r[0])).toEqual(["agent · all", "agent · tune", "agent · holdout", "rule baseline · all", "rule baseline · tune", "rule baseline · holdout"]);
    expect(rows[2]!.slice(1, 5)).toEqual(["3 (2 faults, 1 controls)", "50%", "33%", "50%"]);
  });
});
