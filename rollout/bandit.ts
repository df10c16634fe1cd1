import type { Store } from "../store/client.ts";
import type { BanditState } from "../store/deployments.ts";
import { allocate, type ArmTally } from "./bandit-policy.ts";

export interface ArmAllocation extends ArmTally {
  version: string;
  /** reward / pulls; null before the arm's first label. */
  meanReward: number | null;
  /** Share of the served traffic, 0–1. */
  share: number;
}

/**
 * The bandit's labelled evidence: its own rows (variant 'bandit') since it started, answered and
 * joined to their labels. A row's reward is 1 if the prediction was right, else 0, less the latency
 * penalty per millisecond, kept within [0, 1].
 */
const TALLY_SQL = (predictions: string, labels: string) => `
  SELECT p.version AS version, count() AS pulls,
         sum(greatest(0, least(1, toFloat64(p.predicted = l.label) - {penalty:Float64} * p.latency_us / 1000))) AS reward
  FROM (
    SELECT cityHash64(request_id) AS h, version, predicted, latency_us FROM ${predictions} FINAL
    WHERE model = {model:String} AND variant = 'bandit' AND error = '' AND has({arms:Array(String)}, version)
      AND ts >= fromUnixTimestamp64Micro({sinceUs:Int64})
  ) AS p
  INNER JOIN (SELECT cityHash64(request_id) AS h, label FROM ${labels} FINAL WHERE model = {model:String}) AS l ON p.h = l.h
  GROUP BY version
  SETTINGS join_algorithm = 'hash'`;

export async function armTallies(store: Store, model: string, bandit: BanditState): Promise<ArmTally[]> {
  const rows = await store.rows<{ version: string; pulls: number; reward: number }>(TALLY_SQL(store.table("predictions"), store.table("labels")), {
    model,
    arms: bandit.arms,
    sinceUs: bandit.sinceUs,
    penalty: bandit.latencyPenaltyPerMs,
  });
  return bandit.arms.map((v) => {
    const r = rows.find((x) => x.version === v);
    return { pulls: Number(r?.pulls ?? 0), reward: Number(r?.reward ?? 0) };
  });
}

/** The allocation every replica computes from the same counts: what serving routes by and what get_model_health shows. */
export async function banditAllocation(store: Store, model: string, bandit: BanditState): Promise<ArmAllocation[]> {
  const tallies = await armTallies(store, model, bandit);
  return allocationOf(bandit, tallies);
}

export function allocationOf(bandit: BanditState, tallies: readonly ArmTally[]): ArmAllocation[] {
  const shares = allocate(bandit.policy, tallies, bandit.seed, bandit.floorPercent);
  return bandit.arms.map((version, i) => ({ version, ...tallies[i]!, meanReward: tallies[i]!.pulls > 0 ? tallies[i]!.reward / tallies[i]!.pulls : null, share: shares[i]! }));
}

/** Before the first labels are counted: the allocation of no evidence. */
export function priorAllocation(bandit: BanditState): ArmAllocation[] {
  return allocationOf(bandit, bandit.arms.map(() => ({ pulls: 0, reward: 0 })));
}
