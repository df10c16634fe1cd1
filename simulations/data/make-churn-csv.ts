/**
 * Writes simulations/data/churn.csv, the committed CSV behind the csv scenario: a telecom churn
 * table with a shape unlike the built-in generators (mixed numeric and string columns, a string
 * label). Run: npx tsx simulations/data/make-churn-csv.ts
 */
import fs from "node:fs";
import { Rng } from "../../models/rng.ts";

const rng = new Rng(2024);
const contracts = ["monthly", "one_year", "two_year"];
const lines = ["tenure_months,monthly_charges,support_calls,contract,payment,churned"];
for (let i = 0; i < 3000; i++) {
  const contract = contracts[rng.choice([0.55, 0.25, 0.2])]!;
  const tenure = Math.round(Math.min(72, Math.max(1, rng.normal(contract === "monthly" ? 14 : 40, 12))));
  const charges = Math.round(Math.max(15, rng.normal(70, 25)) * 100) / 100;
  const calls = rng.poisson(1.5);
  const payment = rng.next() < 0.4 ? "card" : rng.next() < 0.5 ? "bank" : "check";
  const logit = -1.2 + 0.035 * (charges - 70) - 0.06 * (tenure - 30) + 0.55 * (calls - 1.5) + (contract === "monthly" ? 1.4 : contract === "one_year" ? -0.3 : -1.6) + (payment === "check" ? 0.5 : 0);
  const churned = rng.next() < 1 / (1 + Math.exp(-3 * logit)) ? "yes" : "no";
  lines.push([tenure, charges, calls, contract, payment, churned].join(","));
}
fs.writeFileSync(new URL("./churn.csv", import.meta.url), lines.join("\n") + "\n");
