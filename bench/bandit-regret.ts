/**
 * Regret of bandit traffic against always serving the better version, through the real service:
 * a better version (trained on clean credit data) and a worse one (trained with a share of its "no"
 * labels flipped) as the arms, labelled traffic in rounds, the allocation recomputed from the store
 * after each round as the state poll does. Every row is also scored offline by both versions, so
 * each served answer's regret is known: realized = (better right) − (served right); expected =
 * accuracy gap when the worse version served. Compared with a fixed 50/50 split and with the floor
 * alone (the least any policy with that floor can lose).
 * Run: npx tsx bench/bandit-regret.ts [--rounds 10] [--per-round 500] [--policy thompson|ucb] [--noise 0.3] [--floor 10]
 * Prints the cumulative regret per round and writes bench/results/bandit-regret.json.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { loadConfig } from "../config.ts";
import { startInferenceService } from "../inference/service.ts";
import { generateCredit } from "../models/datasets/credit.ts";
import { openScorer } from "../models/explain/open-scorer.ts";
import { getVersion, registerVersion } from "../models/registry.ts";
import { Rng } from "../models/rng.ts";
import type { Dataset, Row } from "../models/schema.ts";
import { trainModel } from "../models/train.ts";
import { argmax } from "../models/evaluate.ts";
import { postTrafficChange } from "../rollout/admin-client.ts";
import { openStore, type Store } from "../store/client.ts";
import { migrate } from "../store/migrations.ts";
import { writeResult } from "./write-result.ts";

const arg = (name: string, fallback: string) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1]! : fallback);
const ROUNDS = Number(arg("rounds", "10"));
const PER_ROUND = Number(arg("per-round", "500"));
const POLICY = arg("policy", "thompson") as "thompson" | "ucb";
const NOISE = Number(arg("noise", "0.3"));
const FLOOR = Number(arg("floor", "10"));
const BATCH = 10;
const TOKEN = "bench-admin-token-0123456789";

function noised(d: Dataset, rate: number, seed: number): Dataset {
  const rng = new Rng(seed);
  return { ...d, examples: d.examples.map((e) => ({ ...e, label: e.label === 0 && rng.next() < rate ? 1 : e.label })) };
}

async function register(store: Store, modelDir: string, data: Dataset, seed: number): Promise<string> {
  const t = trainModel({ dataset: data, kind: "logistic", seed });
  const v = await registerVersion(store, modelDir, { model: "credit", kind: "logistic", onnx: t.onnx, schema: t.schema, metrics: t.metrics, trainingData: t.trainingData, baseline: t.baseline });
  return v.version;
}

/** Whether each version is right on each row, scored offline with its own session. */
async function correctness(store: Store, version: string, rows: Row[], labels: number[]): Promise<boolean[]> {
  const s = await openScorer(store, "credit", version);
  try {
    const p = await s.run(s.encode(rows), rows.length);
    const c = s.meta.schema.classes.length;
    return labels.map((y, i) => argmax(p, i * c, c) === y);
  } finally {
    await s.release();
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-bandit-regret-"));
  const config = loadConfig({ ...process.env, MLWATCH_DATA_DIR: dir, MLWATCH_PORT: "0", MLWATCH_HOST: "127.0.0.1", MLWATCH_ADMIN_TOKEN: TOKEN, MLWATCH_STATE_POLL_MS: "3600000" });
  const store = await openStore(config);
  await migrate(store);
  const better = await register(store, config.modelDir, generateCredit(5000, 1), 1);
  const worse = await register(store, config.modelDir, noised(generateCredit(5000, 2), NOISE, 7), 2);
  const traffic = generateCredit(ROUNDS * PER_ROUND, 42).examples;
  const rows = traffic.map((e) => e.row);
  const labels = traffic.map((e) => e.label);
  const right = { [better]: await correctness(store, better, rows, labels), [worse]: await correctness(store, worse, rows, labels) };
  const accuracy = (v: string) => right[v]!.filter(Boolean).length / rows.length;
  const gap = accuracy(better) - accuracy(worse);

  const svc = await startInferenceService({ config, store, logger: pino({ level: "warn" }) });
  const audit = { actor: "bench", reason: "bandit regret bench", proposalId: "", approvalId: "", expectedEventId: "" };
  const deployed = await postTrafficChange(svc.url, TOKEN, "credit", { action: "deploy", role: "primary", version: better }, audit);
  await postTrafficChange(svc.url, TOKEN, "credit", { action: "start_bandit", versions: [better, worse], policy: POLICY, floorPercent: FLOOR }, { ...audit, expectedEventId: deployed.eventId });
  const { classes } = (await getVersion(store, "credit", better)).schema;

  let realized = 0;
  let expected = 0;
  let served = 0;
  const perRound: { round: number; rows: number; betterShareServed: number; allocationBetter: number; cumulativeRealized: number; cumulativeExpected: number; uniformExpected: number; floorOnlyExpected: number }[] = [];
  console.log(`better v${better} accuracy ${(accuracy(better) * 100).toFixed(2)}%, worse v${worse} ${(accuracy(worse) * 100).toFixed(2)}% (gap ${(gap * 100).toFixed(2)} points); ${POLICY}, floor ${FLOOR}%`);
  console.log("round  rows  served by better  allocation to better  cum. regret (realized)  cum. regret (expected)  50/50 split  floor alone");
  for (let round = 0; round < ROUNDS; round++) {
    let byBetter = 0;
    for (let i = round * PER_ROUND; i < (round + 1) * PER_ROUND; i += BATCH) {
      const res = await fetch(`${svc.url}/v1/models/credit/predict`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ instances: rows.slice(i, i + BATCH), routing_key: `customer-${i}` }),
      });
      const answer = (await res.json()) as { version: string; predictions: { request_id: string }[] };
      answer.predictions.forEach((_, j) => {
        const k = i + j;
        realized += Number(right[better]![k]) - Number(right[answer.version]![k]);
        if (answer.version === worse) expected += gap;
        else byBetter++;
      });
      served += answer.predictions.length;
      const feedback = answer.predictions.map((p, j) => ({ request_id: p.request_id, label: classes[labels[i + j]!]! }));
      await fetch(`${svc.url}/v1/feedback`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ labels: feedback }) });
    }
    await svc.predictions.flush();
    await svc.labels.flush();
    await svc.traffic.refresh();
    const allocationBetter = svc.traffic.allocation("credit")!.find((a) => a.version === better)!.share;
    const row = { round: round + 1, rows: served, betterShareServed: byBetter / PER_ROUND, allocationBetter, cumulativeRealized: realized, cumulativeExpected: expected, uniformExpected: (served * gap) / 2, floorOnlyExpected: (served * gap * FLOOR) / 100 };
    perRound.push(row);
    console.log(
      `${String(row.round).padStart(5)}  ${String(served).padStart(4)}  ${(row.betterShareServed * 100).toFixed(1).padStart(15)}%  ${(allocationBetter * 100).toFixed(1).padStart(19)}%  ${realized.toFixed(0).padStart(22)}  ${expected.toFixed(1).padStart(22)}  ${row.uniformExpected.toFixed(1).padStart(11)}  ${row.floorOnlyExpected.toFixed(1).padStart(11)}`,
    );
  }
  await svc.close();
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  writeResult("bandit-regret", { policy: POLICY, floorPercent: FLOOR, noise: NOISE, rounds: ROUNDS, perRound: PER_ROUND, accuracy: { better: accuracy(better), worse: accuracy(worse) }, gap, perRoundResults: perRound });
}

await main();
