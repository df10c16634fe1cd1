/**
 * Writes simulations/data/fraud.csv, the committed CSV behind the fraud scenarios: card
 * transactions sent for review, 30% of them fraudulent. Unlike the churn table (a label drawn from
 * a logit over the features) the class is drawn first and each column from a distribution that
 * depends on it (a class-conditional generator), so fraud shows as large amounts far from home, on
 * new cards, online and at night, with heavy overlap. customer_age does not depend on the class at
 * all: a feature the model can ignore, for the harmless-drift control. Some distances are missing
 * (the geolocation lookup fails), as real logs have.
 * Deterministic from the seed. Run: npx tsx simulations/data/make-fraud-csv.ts
 */
import fs from "node:fs";
import { pathToFileURL } from "node:url";
import { Rng } from "../../models/rng.ts";

export const FRAUD_CSV_SEED = 2025;
const ROWS = 4000;
const FRAUD_RATE = 0.3;

const merchants = ["grocery", "fuel", "restaurant", "online_retail", "electronics", "travel"];
const merchantWeights = { legit: [0.36, 0.2, 0.24, 0.12, 0.04, 0.04], fraud: [0.03, 0.04, 0.03, 0.38, 0.34, 0.18] };
const channels = ["chip", "contactless", "online", "swipe"];
/** Online merchants take online payments; the others mostly card-present ones. */
const channelWeights = (merchant: string, fraud: boolean) =>
  merchant === "online_retail" || merchant === "travel" ? [0.05, 0.02, 0.9, 0.03] : fraud ? [0.35, 0.25, 0.1, 0.3] : [0.5, 0.38, 0.04, 0.08];

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The file's text: the same seed gives the same bytes. */
export function fraudCsv(seed = FRAUD_CSV_SEED, rows = ROWS): string {
  const rng = new Rng(seed);
  const logNormal = (median: number, sigma: number) => median * Math.exp(rng.normal(0, sigma));
  const lines = ["amount,hour,distance_km,merchant_category,channel,card_age_days,tx_last_24h,customer_age,fraud"];
  for (let i = 0; i < rows; i++) {
    const fraud = rng.next() < FRAUD_RATE;
    const merchant = merchants[rng.choice(fraud ? merchantWeights.fraud : merchantWeights.legit)]!;
    const channel = channels[rng.choice(channelWeights(merchant, fraud))]!;
    const amount = round(clamp(logNormal(fraud ? 95 : 42, fraud ? 0.95 : 0.8), 1, 5000), 2);
    // Legitimate spending follows the day; fraud is as likely at 3 am as at noon, a little more at night.
    const hour = fraud && rng.next() < 0.7 ? rng.int(24) : Math.round(clamp(rng.normal(fraud ? 3 : 14, 4), 0, 23));
    const distance = rng.next() < 0.03 ? "" : String(round(clamp(logNormal(fraud ? 36 : 6, 1), 0.1, 9000), 1));
    const cardAge = Math.round(clamp(logNormal(fraud ? 200 : 700, 0.9), 1, 7000));
    const recent = rng.poisson(fraud ? 3.2 : 2);
    const customerAge = Math.round(clamp(rng.normal(45, 15), 18, 90));
    lines.push([amount, hour, distance, merchant, channel, cardAge, recent, customerAge, fraud ? "yes" : "no"].join(","));
  }
  return lines.join("\n") + "\n";
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  fs.writeFileSync(new URL("./fraud.csv", import.meta.url), fraudCsv());
}
