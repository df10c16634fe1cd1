import { Rng, subSeed } from "../rng.ts";
import type { Dataset, Example, FeatureValue, ModelSchema, Row } from "../schema.ts";

export const EMPLOYMENT = ["salaried", "self_employed", "unemployed", "retired"] as const;
export const REGIONS = ["north", "south", "east", "west"] as const;
export const LOAN_PURPOSES = ["car", "home", "education", "business", "other"] as const;

export const creditSchema: ModelSchema = {
  features: [
    { name: "age", type: "numeric" },
    { name: "income", type: "numeric" },
    { name: "debt_ratio", type: "numeric" },
    { name: "credit_lines", type: "numeric" },
    { name: "late_payments", type: "numeric" },
    { name: "employment", type: "categorical", categories: [...EMPLOYMENT] },
    { name: "region", type: "categorical", categories: [...REGIONS] },
    { name: "loan_purpose", type: "categorical", categories: [...LOAN_PURPOSES] },
  ],
  classes: ["no", "yes"],
  label: "default",
};

/** The population the rows are drawn from; a simulation overrides parts of it to cause covariate drift. */
export interface CreditMarginals {
  ageMean: number;
  ageSd: number;
  /** Median yearly income of a salaried applicant; incomes are log-normal around it. */
  incomeMedian: number;
  incomeSigma: number;
  /** Median debt-to-income ratio; ratios are log-normal around it. */
  debtRatioMedian: number;
  /** Share of working-age applicants without a job. */
  unemploymentRate: number;
  regionWeights: readonly number[];
  purposeWeights: readonly number[];
  /** Probability that each of income and debt_ratio is left empty, as applicants skip fields. */
  missingRate: number;
}

export const defaultCreditMarginals: CreditMarginals = {
  ageMean: 42,
  ageSd: 13,
  incomeMedian: 42_000,
  incomeSigma: 0.45,
  debtRatioMedian: 0.3,
  unemploymentRate: 0.07,
  regionWeights: [0.3, 0.25, 0.25, 0.2],
  purposeWeights: [0.3, 0.25, 0.12, 0.1, 0.23],
  missingRate: 0.01,
};

/** Assigns a class index (0 = no default, 1 = default) to a complete row. */
export type CreditLabelFn = (row: Row, rng: Rng) => number;

export interface CreditOptions {
  marginals?: Partial<CreditMarginals>;
  /** 0 = the original risk model, 1 = a different one; in between interpolates the coefficients. */
  conceptShift?: number;
  /** Replaces the labelling function altogether; takes precedence over conceptShift. */
  labelFn?: CreditLabelFn;
}

export function generateCredit(n: number, seed: number, options: CreditOptions = {}): Dataset {
  const marginals = { ...defaultCreditMarginals, ...options.marginals };
  const shift = options.conceptShift ?? 0;
  const labelFn = options.labelFn ?? bernoulliLabel(creditRisk(shift));
  const rng = new Rng(seed);
  // A stream of its own, so any labelling function leaves the applicants drawn exactly the same.
  const labelRng = new Rng(subSeed(seed, "credit-label"));
  const examples: Example[] = [];
  for (let i = 0; i < n; i++) {
    const row = drawApplicant(rng, marginals);
    // Labelled before fields go missing: the truth does not depend on what the form captured.
    const label = labelFn(row, labelRng);
    examples.push({ row: dropFields(row, rng, marginals.missingRate), label });
  }
  const labels = options.labelFn ? "custom labels" : `conceptShift=${shift}`;
  return { name: `credit(n=${n}, seed=${seed}, ${labels})`, schema: creditSchema, examples };
}

function bernoulliLabel(risk: (row: Row) => number): CreditLabelFn {
  return (row, rng) => (rng.next() < risk(row) ? 1 : 0);
}

function drawApplicant(rng: Rng, m: CreditMarginals): Row {
  const age = Math.round(clamp(rng.normal(m.ageMean, m.ageSd), 18, 80));
  const employment = drawEmployment(rng, age, m.unemploymentRate);
  const income = drawIncome(rng, age, employment, m);
  const debtRatio = clamp(m.debtRatioMedian * Math.exp(rng.normal(0, 0.5)) * (employment === "unemployed" ? 1.6 : 1), 0, 3);
  const creditLines = Math.min(rng.poisson(1 + (age - 18) / 9), 40);
  const latePayments = rng.poisson(0.15 + 0.9 * debtRatio + (employment === "unemployed" ? 0.6 : 0));
  return {
    age,
    income,
    debt_ratio: round(debtRatio, 3),
    credit_lines: creditLines,
    late_payments: latePayments,
    employment,
    region: REGIONS[rng.choice(m.regionWeights)] ?? "north",
    loan_purpose: LOAN_PURPOSES[rng.choice(m.purposeWeights)] ?? "other",
  };
}

/** Most applicants past 62 are retired; a few retire early. */
function drawEmployment(rng: Rng, age: number, unemploymentRate: number): string {
  const retired = age >= 62 ? 0.75 : 0.01;
  const working = Math.max(0, 1 - retired - unemploymentRate);
  const weights = [0.82 * working, 0.18 * working, unemploymentRate, retired];
  return EMPLOYMENT[rng.choice(weights)] ?? "salaried";
}

/** Median income relative to a salaried applicant's. */
const INCOME_FACTOR: Record<string, number> = { salaried: 1, self_employed: 1.1, unemployed: 0.3, retired: 0.6 };

/** Log-normal around a median that rises with experience until the mid-fifties and depends on employment. */
function drawIncome(rng: Rng, age: number, employment: string, m: CreditMarginals): number {
  const career = Math.exp(-0.5 * ((age - 52) / 22) ** 2);
  const factor = INCOME_FACTOR[employment] ?? 1;
  const sigma = employment === "self_employed" ? m.incomeSigma * 1.5 : m.incomeSigma;
  return Math.round((m.incomeMedian * factor * (0.55 + 0.6 * career) * Math.exp(rng.normal(0, sigma))) / 100) * 100;
}

function dropFields(row: Row, rng: Rng, missingRate: number): Row {
  if (rng.next() < missingRate) row.income = null;
  if (rng.next() < missingRate) row.debt_ratio = null;
  return row;
}

/** Coefficients of the risk model's logit. */
interface CreditConcept {
  intercept: number;
  latePayments: number;
  debtRatio: number;
  logIncome: number;
  age: number;
  creditLines: number;
  employment: Record<string, number>;
  purpose: Record<string, number>;
  region: Record<string, number>;
  /** Steepness of the logit: larger = labels closer to a deterministic boundary. */
  sharpness: number;
}

const baseConcept: CreditConcept = {
  intercept: -1.9,
  latePayments: 0.8,
  debtRatio: 2.8,
  logIncome: -1.3,
  age: -0.02,
  creditLines: -0.06,
  employment: { salaried: 0, self_employed: 0.4, unemployed: 1.3, retired: 0.2 },
  purpose: { car: 0, home: -0.4, education: 0.3, business: 0.6, other: 0.2 },
  region: { north: 0, south: 0.2, east: 0, west: -0.1 },
  sharpness: 5,
};

/** What a shifted market looks like: income matters less, debt and business loans more, the east turns risky. */
const shiftedConcept: CreditConcept = {
  intercept: -2.1,
  latePayments: 0.5,
  debtRatio: 4.2,
  logIncome: -0.4,
  age: 0.015,
  creditLines: 0.05,
  employment: { salaried: 0, self_employed: 1.1, unemployed: 0.8, retired: -0.2 },
  purpose: { car: 0.5, home: -0.1, education: -0.2, business: 1.3, other: 0.2 },
  region: { north: -0.3, south: 0, east: 0.9, west: 0 },
  sharpness: 5,
};

/**
 * The labelling function: probability that an applicant defaults, under the risk model moved
 * `conceptShift` of the way to the shifted one. Missing numbers fall back to typical values so a
 * simulation can relabel rows that already lost fields.
 */
export function creditRisk(conceptShift = 0): (row: Row) => number {
  const c = interpolateConcept(clamp(conceptShift, 0, 1));
  const m = defaultCreditMarginals;
  return (row) => {
    const income = Math.max(numberOr(row.income, m.incomeMedian), 1000);
    const logit =
      c.intercept +
      c.latePayments * numberOr(row.late_payments, 0) +
      c.debtRatio * (numberOr(row.debt_ratio, m.debtRatioMedian) - 0.35) +
      c.logIncome * Math.log(income / m.incomeMedian) +
      c.age * (numberOr(row.age, 40) - 40) +
      c.creditLines * (numberOr(row.credit_lines, 5) - 5) +
      (c.employment[String(row.employment)] ?? 0) +
      (c.purpose[String(row.loan_purpose)] ?? 0) +
      (c.region[String(row.region)] ?? 0);
    return 1 / (1 + Math.exp(-c.sharpness * logit));
  };
}

function interpolateConcept(s: number): CreditConcept {
  const mix = (a: number, b: number) => (1 - s) * a + s * b;
  const mixRecord = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(Object.keys(a).map((k) => [k, mix(a[k] ?? 0, b[k] ?? 0)]));
  return {
    intercept: mix(baseConcept.intercept, shiftedConcept.intercept),
    latePayments: mix(baseConcept.latePayments, shiftedConcept.latePayments),
    debtRatio: mix(baseConcept.debtRatio, shiftedConcept.debtRatio),
    logIncome: mix(baseConcept.logIncome, shiftedConcept.logIncome),
    age: mix(baseConcept.age, shiftedConcept.age),
    creditLines: mix(baseConcept.creditLines, shiftedConcept.creditLines),
    employment: mixRecord(baseConcept.employment, shiftedConcept.employment),
    purpose: mixRecord(baseConcept.purpose, shiftedConcept.purpose),
    region: mixRecord(baseConcept.region, shiftedConcept.region),
    sharpness: mix(baseConcept.sharpness, shiftedConcept.sharpness),
  };
}

function numberOr(value: FeatureValue | undefined, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
