import { creditRisk } from "../models/datasets/credit.ts";
import { hyperplaneWeights } from "../models/datasets/hyperplane.ts";
import { makeDataset } from "../models/datasets/index.ts";
import type { NumericBaseline } from "../models/baseline.ts";
import { Rng, subSeed } from "../models/rng.ts";
import type { Example, ModelSchema, Row } from "../models/schema.ts";
import type { Injection, Scenario } from "./scenario.ts";

export interface ActiveInjection {
  injection: Injection;
  /** Index of the first request it applies to. */
  start: number;
}

/** A request the simulation sends, with the truth it will report later. */
export interface TrafficItem {
  row: Row;
  label: number;
}

/** How the true label of a row is decided, so a shifted row is relabelled by the truth, not kept. */
type Oracle = (row: Row, conceptStrength: number, rng: Rng) => number | null;

export function oracleFor(scenario: Scenario): Oracle {
  const ds = scenario.dataset;
  if ("csv" in ds) return () => null;
  if (ds.generator === "credit") return (row, s, rng) => (rng.next() < creditRisk(s)(row) ? 1 : 0);
  return (row, s, rng) => {
    const dims = Object.keys(row).length;
    const w = hyperplaneWeights(dims, s);
    let dot = 0;
    for (let i = 0; i < dims; i++) dot += w[i]! * Number(row[`x${i}`] ?? 0);
    const clean = dot > 0 ? 1 : 0;
    return rng.next() < 0.02 ? 1 - clean : clean;
  };
}

/** How far along its ramp an injection is at request i: 0 before it starts, 1 when fully on. */
export function intensity(active: ActiveInjection, i: number): number {
  if (i < active.start) return 0;
  const ramp = active.injection.rampRequests;
  return ramp === 0 ? 1 : Math.min(1, (i - active.start + 1) / ramp);
}

/**
 * The scenario's traffic, request by request: fresh rows from the same source as training (another
 * seed), with each active injection applied at its current intensity.
 */
export class TrafficSource {
  private readonly base: Example[];
  private readonly rng: Rng;
  private readonly oracle: Oracle;

  constructor(
    private readonly scenario: Scenario,
    private readonly schema: ModelSchema,
    private readonly reference: Map<string, NumericBaseline>,
    total: number,
  ) {
    this.base = makeDataset(scenario.dataset, total, subSeed(scenario.seed, "traffic")).examples;
    this.rng = new Rng(subSeed(scenario.seed, "injections"));
    this.oracle = oracleFor(scenario);
  }

  item(i: number, active: readonly ActiveInjection[]): TrafficItem {
    const example = this.base[i % this.base.length]!;
    const row: Row = { ...example.row };
    let concept = 0;
    let relabel = false;
    for (const a of active) {
      const k = intensity(a, i);
      if (k === 0) continue;
      const inj = a.injection;
      if (inj.type === "covariate_shift") relabel = this.shift(row, inj.feature, inj.shiftStd * k, 1 + (inj.scale - 1) * k) || relabel;
      else if (inj.type === "concept_drift") (concept = inj.strength * k), (relabel = true);
      else if (inj.type === "new_category" && this.rng.next() < inj.fraction * k) (row[inj.feature] = inj.values[this.rng.int(inj.values.length)]!), (relabel = true);
      else if (inj.type === "missing_values" && this.rng.next() < inj.fraction * k) row[inj.feature] = null;
    }
    return { row, label: relabel ? (this.oracle(row, concept, this.rng) ?? this.csvConcept(example.label, concept)) : example.label };
  }

  private shift(row: Row, feature: string, shiftStd: number, scale: number): boolean {
    const ref = this.reference.get(feature);
    const value = row[feature];
    if (!ref || typeof value !== "number") return false;
    row[feature] = ref.mean + (value - ref.mean) * scale + shiftStd * ref.std;
    return true;
  }

  /** A CSV has no labelling function: concept drift flips labels at random, up to half of them. */
  private csvConcept(label: number, strength: number): number {
    const classes = this.schema.classes.length;
    return strength > 0 && this.rng.next() < strength / 2 ? (label + 1 + this.rng.int(classes - 1)) % classes : label;
  }
}

/** Checks that every feature an injection names exists with the right type. */
export function checkInjections(scenario: Scenario, schema: ModelSchema): string[] {
  const problems: string[] = [];
  const types = new Map(schema.features.map((f) => [f.name, f.type]));
  scenario.phases.forEach((phase, p) =>
    phase.inject.forEach((inj, j) => {
      const at = `phases.${p}.inject.${j}`;
      const need = (feature: string, type?: "numeric" | "categorical") => {
        const actual = types.get(feature);
        if (!actual) problems.push(`${at}.feature: unknown feature '${feature}' (known: ${[...types.keys()].join(", ")})`);
        else if (type && actual !== type) problems.push(`${at}.feature: '${feature}' is ${actual}, ${inj.type} needs a ${type} feature`);
      };
      if (inj.type === "covariate_shift") need(inj.feature, "numeric");
      if (inj.type === "new_category") need(inj.feature, "categorical");
      if (inj.type === "missing_values") need(inj.feature);
      if (inj.type === "bad_deploy") inj.dropFeatures.forEach((f) => need(f));
    }),
  );
  return problems;
}
