/**
 * Writes simulations/data/pumps.csv, the committed CSV behind the second blind batch: industrial
 * pumps inspected monthly, labelled with whether each failed within the next 30 days (about a
 * fifth did). Its shape is unlike the other data sets: twelve features, a many-valued categorical
 * (28 pump models, a few of them from a defective bearing batch), heavy-tailed sensor readings
 * (vibration, oil particle counts) that act through thresholds and logarithms a linear model can
 * only approximate, a hidden wear state seen only through a noisy error-code count, and columns
 * that matter little or not at all (site barely, firmware and ambient temperature not at all:
 * ambient heat reaches the label only through the bearing temperature it raises). The oil sensor
 * is sometimes offline, so a few particle counts are missing.
 * Deterministic from the seed. Run: npx tsx simulations/data/make-pumps-csv.ts
 */
import fs from "node:fs";
import { pathToFileURL } from "node:url";
import { Rng } from "../../models/rng.ts";

export const PUMPS_CSV_SEED = 2026;
const ROWS = 10_000;

const MODELS = 28;
/** Pump models fitted with bearings from one defective batch. */
const DEFECTIVE = new Set([1, 4, 11, 19, 24]);
const sites = ["antwerp", "gdansk", "leeds", "lyon", "porto", "turin"];
const siteEffect = [0, 0.08, -0.05, 0.04, -0.08, 0.02];
const firmware = ["v3.1", "v3.2", "v4.0", "v4.1"];
const duties = ["single_shift", "double_shift", "continuous"];

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
const modelName = (k: number) => `P${String(100 + 10 * k)}`;

/** The file's text: the same seed gives the same bytes. */
export function pumpsCsv(seed = PUMPS_CSV_SEED, rows = ROWS): string {
  const rng = new Rng(seed);
  const logNormal = (median: number, sigma: number) => median * Math.exp(rng.normal(0, sigma));
  // Popular models are common and the long tail is rare, as in a real fleet (Zipf-like weights).
  const modelWeights = Array.from({ length: MODELS }, (_, k) => 1 / (k + 2));
  const modelEffect = Array.from({ length: MODELS }, (_, k) => rng.normal(0, 1) + (DEFECTIVE.has(k) ? 3.6 : 0));
  const lines = ["pump_model,site,firmware,duty,age_years,days_since_service,load_pct,ambient_c,bearing_temp_c,vibration_mm_s,oil_particles_ppm,error_codes_7d,failure"];
  for (let i = 0; i < rows; i++) {
    const model = rng.choice(modelWeights);
    const site = rng.int(sites.length);
    const duty = rng.choice([0.3, 0.45, 0.25]);
    const age = round(clamp(rng.gamma(2.2) * 3.5, 0.2, 30), 1);
    const service = Math.round(clamp(rng.gamma(1.6) * 120, 1, 900));
    const load = round(clamp(rng.normal(duty === 2 ? 78 : 66, 14), 15, 110), 1);
    const ambient = round(rng.normal(17, 8), 1);
    const wear = rng.normal(0, 1);
    const bearing = round(38 + 0.35 * load + 0.45 * ambient + 4 * wear + rng.normal(0, 5), 1);
    const vibration = round(clamp(logNormal(2.6 * Math.exp(0.25 * wear), 0.5), 0.3, 60), 2);
    const particles = Math.round(clamp(logNormal(28 * Math.exp(0.2 * wear + 0.02 * age), 0.85), 1, 5000));
    const errorCodes = rng.poisson(0.5 * Math.exp(0.7 * wear));
    const logit =
      -3.6 +
      2.4 * Math.log(vibration / 2.6) +
      (vibration > 7.1 ? 1.6 : 0) + // ISO 10816 zone D: damage is likely
      0.2 * Math.max(0, bearing - 78) +
      1.1 * Math.log(particles / 28) +
      modelEffect[model]! +
      0.05 * (age - 7) +
      0.004 * Math.max(0, service - 300) +
      0.8 * wear +
      (duty === 2 ? 0.35 : 0) +
      siteEffect[site]!;
    const failed = rng.next() < 1 / (1 + Math.exp(-logit));
    const oil = rng.next() < 0.04 ? "" : String(particles);
    lines.push(
      [modelName(model), sites[site], firmware[rng.int(firmware.length)], duties[duty], age, service, load, ambient, bearing, vibration, oil, errorCodes, failed ? "yes" : "no"].join(","),
    );
  }
  return lines.join("\n") + "\n";
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  fs.writeFileSync(new URL("./pumps.csv", import.meta.url), pumpsCsv());
}
