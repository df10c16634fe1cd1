import { z } from "zod";
import { nowMicros } from "../store/clock.ts";
import { banditPolicies, type TrafficState } from "../store/deployments.ts";

const percent = z.number().min(0).max(100);

/** Every change the admin API accepts; `version` values are checked against the registry by the caller. */
export const trafficChangeSchema = z.discriminatedUnion("action", [
  /** `percent` applies to shadow and canary (default 100); a primary takes all traffic the canary leaves. */
  z.object({ action: z.literal("deploy"), role: z.enum(["primary", "shadow", "canary"]), version: z.string().min(1), percent: percent.optional() }),
  z.object({ action: z.literal("promote"), version: z.string().min(1).optional() }),
  z.object({ action: z.literal("rollback"), version: z.string().min(1).optional() }),
  z.object({ action: z.literal("set_split"), canaryPercent: percent.optional(), shadowPercent: percent.optional() }),
  z.object({ action: z.literal("remove"), role: z.enum(["shadow", "canary"]) }),
  /** Replaces a running bandit (its evidence starts again) or starts one; the arms must be distinct. */
  z.object({
    action: z.literal("start_bandit"),
    versions: z.array(z.string().min(1)).min(1).max(16),
    policy: z.enum(banditPolicies).optional(),
    floorPercent: z.number().min(0).max(50).optional(),
    latencyPenaltyPerMs: z.number().min(0).max(1).optional(),
    seed: z.number().int().optional(),
  }),
  z.object({ action: z.literal("stop_bandit") }),
]);
export type TrafficChange = z.infer<typeof trafficChangeSchema>;

/** A refused change; `field` names the admin API body field at fault, when one is. */
export class TrafficChangeError extends Error {
  readonly field: string | undefined;

  constructor(message: string, field?: string) {
    super(message);
    this.field = field;
  }
}

/** Defaults of a bandit started without them: a tenth of the traffic per arm keeps every arm measured. */
export const BANDIT_DEFAULTS = { policy: "thompson", floorPercent: 10, latencyPenaltyPerMs: 0, seed: 1 } as const;

/** The state after a change; pure given `nowUs` (when a bandit's evidence starts), so every transition is testable without a server. */
export function applyChange(state: TrafficState, change: TrafficChange, nowUs: number = nowMicros()): TrafficState {
  switch (change.action) {
    case "deploy":
      if (change.role === "primary") return makePrimary(state, change.version);
      if (change.role === "canary" && state.bandit) throw new TrafficChangeError("a bandit is running; stop it (stop_bandit) before deploying a canary", "role");
      if (state.primary === change.version) throw new TrafficChangeError(`version ${change.version} is the primary; it cannot also be ${change.role}`);
      return { ...state, [change.role]: { version: change.version, percent: change.percent ?? 100 } };
    case "promote": {
      const version = change.version ?? state.canary?.version ?? state.shadow?.version;
      if (!version) throw new TrafficChangeError("nothing to promote: no canary or shadow version and no version named");
      return makePrimary(state, version);
    }
    case "rollback":
      return rollback(state, change.version);
    case "set_split":
      return setSplit(state, change.canaryPercent, change.shadowPercent);
    case "remove":
      if (!state[change.role]) throw new TrafficChangeError(`no ${change.role} version to remove`);
      return { ...state, [change.role]: null };
    case "start_bandit":
      return startBandit(state, change, nowUs);
    case "stop_bandit": {
      if (!state.bandit) throw new TrafficChangeError("no bandit is running");
      const { bandit: _stopped, ...rest } = state;
      return rest;
    }
  }
}

function startBandit(state: TrafficState, change: Extract<TrafficChange, { action: "start_bandit" }>, nowUs: number): TrafficState {
  const arms = [...new Set(change.versions)];
  if (arms.length < 2) throw new TrafficChangeError(`a bandit needs at least two distinct versions to choose between; got ${arms.length} ('${arms.join("', '")}')`, "versions");
  const floorPercent = change.floorPercent ?? BANDIT_DEFAULTS.floorPercent;
  if (floorPercent * arms.length > 100) throw new TrafficChangeError(`a floor of ${floorPercent}% for each of ${arms.length} arms exceeds 100%`, "floor_percent");
  if (!state.primary) throw new TrafficChangeError("deploy a primary first: it answers again when the bandit stops", "versions");
  if (state.canary) throw new TrafficChangeError(`canary v${state.canary.version} is running; end it (rollback or promote) before starting a bandit`, "versions");
  return {
    ...state,
    bandit: {
      arms,
      policy: change.policy ?? BANDIT_DEFAULTS.policy,
      floorPercent,
      latencyPenaltyPerMs: change.latencyPenaltyPerMs ?? BANDIT_DEFAULTS.latencyPenaltyPerMs,
      seed: change.seed ?? BANDIT_DEFAULTS.seed,
      sinceUs: nowUs,
    },
  };
}

function makePrimary(state: TrafficState, version: string): TrafficState {
  if (state.primary === version) throw new TrafficChangeError(`version ${version} is already primary`);
  return {
    primary: version,
    previous: state.primary,
    canary: state.canary?.version === version ? null : state.canary,
    shadow: state.shadow?.version === version ? null : state.shadow,
    ...(state.bandit ? { bandit: state.bandit } : {}),
  };
}

/** With a canary running and no target named, rolling back means ending the canary. */
function rollback(state: TrafficState, target: string | undefined): TrafficState {
  if (!target && state.canary) return { ...state, canary: null };
  const version = target ?? state.previous;
  if (!version) throw new TrafficChangeError("nothing to roll back to: no previous version and none named");
  return makePrimary({ ...state, canary: null }, version);
}

function setSplit(state: TrafficState, canaryPercent?: number, shadowPercent?: number): TrafficState {
  if (canaryPercent === undefined && shadowPercent === undefined) throw new TrafficChangeError("set_split needs canaryPercent or shadowPercent");
  if (canaryPercent !== undefined && !state.canary) throw new TrafficChangeError("no canary version to split traffic with");
  if (shadowPercent !== undefined && !state.shadow) throw new TrafficChangeError("no shadow version to mirror traffic to");
  return {
    ...state,
    canary: state.canary && canaryPercent !== undefined ? { ...state.canary, percent: canaryPercent } : state.canary,
    shadow: state.shadow && shadowPercent !== undefined ? { ...state.shadow, percent: shadowPercent } : state.shadow,
  };
}

/** The versions a state names, for loading sessions and checking the registry. */
export function versionsIn(state: TrafficState): string[] {
  return [...new Set([state.primary, state.canary?.version, state.shadow?.version, ...(state.bandit?.arms ?? [])].filter((v): v is string => !!v))];
}
