import { Rng, subSeed } from "../models/rng.ts";
import type { BanditPolicy } from "../store/deployments.ts";

/** One arm's labelled evidence: answered requests whose label arrived, and their summed reward (each in [0, 1]). */
export interface ArmTally {
  pulls: number;
  reward: number;
}

/** Monte Carlo draws behind a Thompson allocation: its shares are within about ±0.8 points of the exact chance. */
export const THOMPSON_DRAWS = 4000;

/**
 * Each arm's share of traffic, summing to 1, in the arms' order: a pure function of the policy, the
 * tallies, the seed and the floor, so replicas reading the same counts route alike. Every arm keeps
 * floorPercent; the rest goes by the policy.
 */
export function allocate(policy: BanditPolicy, tallies: readonly ArmTally[], seed: number, floorPercent: number): number[] {
  const shares = policy === "thompson" ? thompsonShares(tallies, seed) : ucbShares(tallies);
  const floor = floorPercent / 100;
  return shares.map((s) => floor + (1 - floor * tallies.length) * s);
}

/**
 * Thompson sampling as probability matching: each arm's share is the posterior probability that it
 * is the best, under Beta(1 + reward, 1 + pulls − reward) posteriors (fractional rewards, from a
 * latency penalty, count as fractional successes), estimated from THOMPSON_DRAWS seeded draws.
 */
export function thompsonShares(tallies: readonly ArmTally[], seed: number, draws = THOMPSON_DRAWS): number[] {
  const rng = new Rng(subSeed(seed, "thompson"));
  const wins = new Array<number>(tallies.length).fill(0);
  for (let d = 0; d < draws; d++) {
    let best = 0;
    let bestDraw = -1;
    tallies.forEach((t, i) => {
      const x = rng.beta(1 + t.reward, 1 + t.pulls - t.reward);
      if (x > bestDraw) [best, bestDraw] = [i, x];
    });
    wins[best]!++;
  }
  return wins.map((w) => w / draws);
}

/** UCB1: the arm with the highest mean + sqrt(2 ln N / n) takes everything; an arm without evidence comes first (ties: the earlier arm). */
export function ucbShares(tallies: readonly ArmTally[]): number[] {
  const total = tallies.reduce((a, t) => a + t.pulls, 0);
  const bound = (t: ArmTally) => (t.pulls === 0 ? Infinity : t.reward / t.pulls + Math.sqrt((2 * Math.log(Math.max(total, 1))) / t.pulls));
  let best = 0;
  tallies.forEach((t, i) => {
    if (bound(t) > bound(tallies[best]!)) best = i;
  });
  return tallies.map((_, i) => (i === best ? 1 : 0));
}
