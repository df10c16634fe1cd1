/**
 * Training throughput: `npx tsx bench/train.ts`. Times trainModel end to end (split, encode,
 * fit, held-out evaluation, ONNX export, baseline) on the credit generator; data generation is
 * outside the timer. Writes bench/results/train.json.
 */
import fs from "node:fs";
import os from "node:os";
import { generateCredit } from "../models/datasets/credit.ts";
import { logisticDefaults } from "../models/train/logistic.ts";
import { mlpDefaults } from "../models/train/mlp.ts";
import type { ModelKind } from "../models/train/network.ts";
import { trainModel } from "../models/train.ts";

const SIZES = [20_000, 100_000];
const KINDS: ModelKind[] = ["logistic", "mlp"];
const RUNS = 3;

interface Case {
  kind: ModelKind;
  rows: number;
  epochs: number;
  runsMs: number[];
  medianMs: number;
  rowsPerSecond: number;
  heldOutAccuracy: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function runCase(kind: ModelKind, rows: number): Case {
  const dataset = generateCredit(rows, 1);
  const runsMs: number[] = [];
  let accuracy = 0;
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    accuracy = trainModel({ dataset, kind, seed: 1 }).metrics.accuracy;
    runsMs.push(performance.now() - started);
  }
  const medianMs = median(runsMs);
  const epochs = kind === "logistic" ? logisticDefaults.epochs : mlpDefaults.epochs;
  return { kind, rows, epochs, runsMs, medianMs, rowsPerSecond: rows / (medianMs / 1000), heldOutAccuracy: accuracy };
}

const cases: Case[] = [];
for (const rows of SIZES) {
  for (const kind of KINDS) {
    const c = runCase(kind, rows);
    cases.push(c);
    console.log(
      `${kind.padEnd(8)} ${String(rows).padStart(7)} rows  ${c.epochs} epochs  median ${(c.medianMs / 1000).toFixed(2)} s  ` +
        `${Math.round(c.rowsPerSecond).toLocaleString("en-US")} rows/s  held-out accuracy ${(c.heldOutAccuracy * 100).toFixed(2)}%`,
    );
  }
}

const out = new URL("./results/train.json", import.meta.url);
fs.mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
const environment = { node: process.version, cpu: os.cpus()[0]?.model ?? "unknown", cpus: os.cpus().length, date: new Date().toISOString() };
fs.writeFileSync(out, `${JSON.stringify({ benchmark: "train", runs: RUNS, environment, cases }, null, 2)}\n`);
console.log(`wrote ${out.pathname}`);
