import fs from "node:fs";
import path from "node:path";
import { parseScenario, ScenarioError } from "./scenario.ts";
import type { SuiteEntry } from "./runner.ts";

export const SUITE_DIR = path.join(path.dirname(new URL(import.meta.url).pathname), "scenarios");

/** Reads and validates scenario files; an invalid one stops the run naming the file and the field. */
export function loadScenarioFile(file: string): SuiteEntry {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new ScenarioError(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { scenario: parseScenario(json, file), dir: path.dirname(path.resolve(file)) };
}

export function loadSuite(dir = SUITE_DIR): SuiteEntry[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => loadScenarioFile(path.join(dir, f)));
}

/** The same scenarios under other seeds: seed k adds 1000·k, so every seed is a different world. */
export function withSeeds(entries: SuiteEntry[], seeds: number): SuiteEntry[] {
  return Array.from({ length: seeds }, (_, k) => entries.map((e) => ({ ...e, scenario: { ...e.scenario, seed: e.scenario.seed + 1000 * k } }))).flat();
}

/** Fewer requests per phase, for a quick look or a test; the story keeps its shape. */
export function scaled(entries: SuiteEntry[], factor: number): SuiteEntry[] {
  return entries.map((e) => ({
    ...e,
    scenario: {
      ...e.scenario,
      phases: e.scenario.phases.map((p) => ({
        ...p,
        requests: Math.max(100, Math.round(p.requests * factor)),
        inject: p.inject.map((i) => ({ ...i, rampRequests: Math.round(i.rampRequests * factor) })),
      })),
    },
  }));
}
