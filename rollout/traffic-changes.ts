import { z } from "zod";
import type { TrafficState } from "../store/deployments.ts";

const percent = z.number().min(0).max(100);

/** Every change the admin API accepts; `version` values are checked against the registry by the caller. */
export const trafficChangeSchema = z.discriminatedUnion("action", [
  /** `percent` applies to shadow and canary (default 100); a primary takes all traffic the canary leaves. */
  z.object({ action: z.literal("deploy"), role: z.enum(["primary", "shadow", "canary"]), version: z.string().min(1), percent: percent.optional() }),
  z.object({ action: z.literal("promote"), version: z.string().min(1).optional() }),
  z.object({ action: z.literal("rollback"), version: z.string().min(1).optional() }),
  z.object({ action: z.literal("set_split"), canaryPercent: percent.optional(), shadowPercent: percent.optional() }),
  z.object({ action: z.literal("remove"), role: z.enum(["shadow", "canary"]) }),
]);
export type TrafficChange = z.infer<typeof trafficChangeSchema>;

export class TrafficChangeError extends Error {}

/** The state after a change; pure, so every transition is testable without a server. */
export function applyChange(state: TrafficState, change: TrafficChange): TrafficState {
  switch (change.action) {
    case "deploy":
      if (change.role === "primary") return makePrimary(state, change.version);
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
  }
}

function makePrimary(state: TrafficState, version: string): TrafficState {
  if (state.primary === version) throw new TrafficChangeError(`version ${version} is already primary`);
  return {
    primary: version,
    previous: state.primary,
    canary: state.canary?.version === version ? null : state.canary,
    shadow: state.shadow?.version === version ? null : state.shadow,
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
  return [state.primary, state.canary?.version, state.shadow?.version].filter((v): v is string => !!v);
}
