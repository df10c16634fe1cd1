import { expect, it } from "vitest";
import { generateCredit } from "../models/datasets/credit.ts";
import { reweightReference } from "../models/reweight.ts";

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const incomes = (rows: { row: Record<string, unknown> }[]) => rows.map((e) => Number(e.row.income)).filter(Number.isFinite);

it("resamples the reference toward a shifted population: the draw's mean moves most of the way, labels kept", () => {
  const reference = generateCredit(6000, 1).examples;
  const refMean = mean(incomes(reference));
  const sd = Math.sqrt(mean(incomes(reference).map((x) => (x - refMean) ** 2)));
  const current = generateCredit(800, 2).examples.map((e) => ({ ...e, row: { ...e.row, income: Number(e.row.income) - 1.0 * sd } }));
  const r = reweightReference(reference, current, generateCredit(10, 1).schema, 3000, 7);
  expect(r.examples).toHaveLength(3000);
  expect(r.domainBalancedAccuracy).toBeGreaterThan(0.6);
  expect(r.effectiveShare).toBeLessThan(0.9);
  const drawn = mean(incomes(r.examples));
  const target = mean(incomes(current));
  expect(Math.abs(drawn - target)).toBeLessThan(0.5 * Math.abs(refMean - target));
  expect(r.examples.every((e) => reference.includes(e))).toBe(true);
});

it("leaves an unshifted reference nearly as it was", () => {
  const reference = generateCredit(4000, 3).examples;
  const r = reweightReference(reference, generateCredit(800, 4).examples, generateCredit(10, 1).schema, 2000, 7);
  expect(r.effectiveShare).toBeGreaterThan(0.8);
  expect(Math.abs(mean(incomes(r.examples)) - mean(incomes(reference)))).toBeLessThan(0.1 * Math.sqrt(mean(incomes(reference).map((x) => (x - mean(incomes(reference))) ** 2))));
});
