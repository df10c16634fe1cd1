import os from "node:os";
import type { Command } from "../command.ts";
import { CommandError, parse, printTable, UsageError } from "../command.ts";
import { adminApi } from "../admin-api.ts";
import { AdminApiError, postTrafficChange } from "../../rollout/admin-client.ts";
import type { TrafficChange } from "../../rollout/traffic-changes.ts";
import type { StoredDeploymentEvent, TrafficState } from "../../store/deployments.ts";

/**
 * The traffic verbs a person uses: deploy, promote, rollback, split, traffic. Each is a thin client
 * of the running `mlwatch serve`'s admin API (/v1/admin/models/:name/…), so a change from the
 * command line is the same audited event as one from curl, the agent or a rollout plan.
 */

const where = `Talks to the admin API of the running \`mlwatch serve\`: MLWATCH_INFERENCE_URL, else
http://127.0.0.1:$MLWATCH_PORT, with MLWATCH_ADMIN_TOKEN as the bearer token (without a token,
serve admits loopback callers only). Each change is recorded in the deployments log with --as
(default: your user name) and --reason (default: a sentence naming you and the command).`;

const audit = {
  reason: { type: "string" },
  as: { type: "string" },
} as const;

export const deployCommand: Command = {
  name: "deploy",
  summary: "put a version into traffic as primary, canary or shadow (through serve's admin API)",
  usage: `usage: mlwatch deploy <model> <version> [--role primary|canary|shadow] [--percent P] [--reason TEXT] [--as NAME]

Makes <version> the primary (the default role; the previous primary becomes the rollback target),
a canary taking P% of requests, or a shadow scoring P% of requests after the answer (P defaults to
100 for a shadow and a canary; a primary takes whatever the canary leaves).

${where}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...audit, role: { type: "string" }, percent: { type: "string" } }, true);
    const [model, version] = exactly(positionals, ["model", "version"], "deploy") as [string, string];
    const role = values.role ?? "primary";
    if (role !== "primary" && role !== "canary" && role !== "shadow") throw new UsageError(`--role must be primary, canary or shadow, not '${role}'`);
    if (role === "primary" && values.percent !== undefined) throw new UsageError("--percent applies to a canary or a shadow; a primary takes the traffic the canary leaves");
    const percent = values.percent === undefined ? undefined : percentOf("--percent", values.percent);
    await change("deploy", model, { action: "deploy", role, version: versionOf(version), ...(percent !== undefined ? { percent } : {}) }, values);
  },
};

export const promoteCommand: Command = {
  name: "promote",
  summary: "make the canary (or shadow, or a named version) the primary",
  usage: `usage: mlwatch promote <model> [version] [--reason TEXT] [--as NAME]

Makes [version] the primary; without one, the canary, else the shadow. The primary before it
becomes the rollback target.

${where}`,
  async run(argv) {
    const { values, positionals } = parse(argv, audit, true);
    const [model, version] = between(positionals, "promote");
    await change("promote", model, { action: "promote", ...(version ? { version: versionOf(version) } : {}) }, values);
  },
};

export const rollbackCommand: Command = {
  name: "rollback",
  summary: "end the canary, or go back to the previous (or a named) primary",
  usage: `usage: mlwatch rollback <model> [version] [--reason TEXT] [--as NAME]

With a canary running and no version named, ends the canary (all traffic to the primary).
Otherwise makes [version], by default the previous primary, the primary again.

${where}`,
  async run(argv) {
    const { values, positionals } = parse(argv, audit, true);
    const [model, version] = between(positionals, "rollback");
    await change("rollback", model, { action: "rollback", ...(version ? { version: versionOf(version) } : {}) }, values);
  },
};

export const splitCommand: Command = {
  name: "split",
  summary: "set the canary's share of requests and the shadow's share mirrored",
  usage: `usage: mlwatch split <model> [--canary P] [--shadow P] [--reason TEXT] [--as NAME]

Sets the percentage of requests the canary answers (--canary) and of requests mirrored to the
shadow (--shadow); at least one. The versions stay; \`mlwatch deploy\` chooses them.

${where}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...audit, canary: { type: "string" }, shadow: { type: "string" } }, true);
    const [model] = exactly(positionals, ["model"], "split") as [string];
    if (values.canary === undefined && values.shadow === undefined) throw new UsageError("split needs --canary P, --shadow P or both");
    const canaryPercent = values.canary === undefined ? undefined : percentOf("--canary", values.canary);
    const shadowPercent = values.shadow === undefined ? undefined : percentOf("--shadow", values.shadow);
    await change("split", model, { action: "set_split", canaryPercent, shadowPercent }, values);
  },
};

export const banditCommand: Command = {
  name: "bandit",
  summary: "share the served traffic among versions by their observed reward (or --stop)",
  usage: `usage: mlwatch bandit <model> <version> <version>... [--policy thompson|ucb] [--floor P]
                     [--latency-penalty R] [--seed N] [--reason TEXT] [--as NAME]
       mlwatch bandit <model> --stop [--reason TEXT] [--as NAME]

Starts a multi-armed bandit over two or more versions: every poll of the traffic state, each arm's
share is recomputed from its reward on labelled traffic since the start (1 right, 0 wrong, less R
per millisecond of latency). thompson (default) gives each arm its posterior chance of being the
best; ucb gives the arm with the highest upper confidence bound all but the floors. Every arm keeps
P% (default 10). A routing key stays with its arm while the shares hold. Starting again replaces the
running bandit and its evidence. --stop ends it: the primary answers everything again.

${where}`,
  async run(argv) {
    const options = { ...audit, policy: { type: "string" }, floor: { type: "string" }, "latency-penalty": { type: "string" }, seed: { type: "string" }, stop: { type: "boolean" } } as const;
    const { values, positionals } = parse(argv, options, true);
    const [model, ...versions] = positionals;
    if (!model) throw new UsageError("bandit needs <model> and two or more versions, or --stop");
    if (values.stop) {
      if (versions.length > 0 || values.policy || values.floor || values["latency-penalty"] || values.seed) throw new UsageError("bandit --stop takes only <model>");
      await change("bandit --stop", model, { action: "stop_bandit" }, values);
      return;
    }
    if (versions.length < 2) throw new UsageError(`bandit needs at least two versions to choose between; got ${versions.length}`);
    const policy = values.policy;
    if (policy !== undefined && policy !== "thompson" && policy !== "ucb") throw new UsageError(`--policy must be thompson or ucb, not '${policy}'`);
    const floorPercent = values.floor === undefined ? undefined : percentOf("--floor", values.floor);
    const latencyPenaltyPerMs = values["latency-penalty"] === undefined ? undefined : numberOf("--latency-penalty", values["latency-penalty"], 0, 1);
    const seed = values.seed === undefined ? undefined : numberOf("--seed", values.seed, -(2 ** 31), 2 ** 31);
    if (seed !== undefined && !Number.isInteger(seed)) throw new UsageError(`--seed must be a whole number, not '${values.seed}'`);
    await change("bandit", model, { action: "start_bandit", versions: versions.map(versionOf), policy, floorPercent, latencyPenaltyPerMs, seed }, values);
  },
};

export const trafficCommand: Command = {
  name: "traffic",
  summary: "a model's traffic state and its recent deployment events",
  usage: `usage: mlwatch traffic <model> [--limit N]

Which version is primary (and the rollback target), the canary and its share, the shadow and its
share, then the newest N (default 10) deployment events: who changed what, and why.

${where}`,
  async run(argv) {
    const { values, positionals } = parse(argv, { limit: { type: "string" } }, true);
    const [model] = exactly(positionals, ["model"], "traffic") as [string];
    const limit = values.limit === undefined ? 10 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError(`--limit must be a whole number from 1 to 1000, not '${values.limit}'`);
    const api = adminApi();
    const { state, event_id, allocation } = await api.traffic(model);
    console.log(renderState(model, state, event_id));
    if (allocation) {
      console.log("");
      printTable(allocation.map((a) => ({ arm: `v${a.version}`, share: `${(a.share * 100).toFixed(1)}%`, labelled: a.pulls, "mean reward": a.meanReward === null ? "—" : a.meanReward.toFixed(3) })));
    }
    const { events } = (await api.get(`/v1/admin/models/${encodeURIComponent(model)}/deployments?limit=${limit}`)) as { events: StoredDeploymentEvent[] };
    console.log("");
    printTable(
      events.map((e) => ({
        time: new Date(e.ts / 1000).toISOString(),
        action: e.action,
        version: e.version,
        actor: e.actor,
        reason: e.reason,
        ...(events.some((x) => x.approvalId) ? { approval: e.approvalId } : {}),
      })),
    );
  },
};

export const trafficCommands: Command[] = [deployCommand, promoteCommand, rollbackCommand, splitCommand, banditCommand, trafficCommand];

/**
 * The one path of every change: read the current state (its event id makes the change conditional,
 * so a change another actor made meanwhile is a 409 rather than silently overwritten), post the
 * change with who and why, print the state it produced.
 */
async function change(verb: string, model: string, change: TrafficChange, values: { reason?: string; as?: string }): Promise<void> {
  const actor = values.as ?? person();
  if (values.reason !== undefined && values.reason.trim() === "") throw new UsageError("--reason must not be empty");
  const reason = values.reason ?? `${verb} by ${actor} with mlwatch ${verb}`;
  const api = adminApi();
  const before = await api.traffic(model);
  let result: { eventId: string; state: TrafficState };
  try {
    result = await postTrafficChange(api.baseUrl, api.token, model, change, { actor, reason, proposalId: "", approvalId: "", expectedEventId: before.event_id ?? "" });
  } catch (err) {
    if (err instanceof AdminApiError) throw api.failure(err.status, err.message);
    throw err;
  }
  console.log(`${verb} of '${model}' recorded as event ${result.eventId} by ${actor}: ${reason}`);
  console.log(renderState(model, result.state, result.eventId));
}

/** Where serve's admin API is and how to talk to it. */
/** One line per role, e.g. "primary v2 (previous v1); canary v3 at 20%; shadow none". */
export function renderState(model: string, state: TrafficState, eventId: string | null): string {
  const v = (version: string | null) => (version ? `v${version}` : "none");
  return [
    `traffic of '${model}'${eventId ? ` (event ${eventId})` : " (no deployment yet)"}:`,
    `  primary ${v(state.primary)}${state.previous ? ` (previous ${v(state.previous)})` : ""}`,
    `  canary  ${state.canary ? `${v(state.canary.version)} at ${state.canary.percent}%` : "none"}`,
    `  shadow  ${state.shadow ? `${v(state.shadow.version)} at ${state.shadow.percent}%` : "none"}`,
    ...(state.bandit ? [`  bandit  ${state.bandit.policy} over ${state.bandit.arms.map(v).join(", ")}, floor ${state.bandit.floorPercent}% each, latency penalty ${state.bandit.latencyPenaltyPerMs}/ms`] : []),
  ].join("\n");
}

function exactly(positionals: string[], names: string[], verb: string): string[] {
  if (positionals.length !== names.length) {
    throw new UsageError(`${verb} needs ${names.map((n) => `<${n}>`).join(" ")}${positionals.length > names.length ? `; unexpected '${positionals[names.length]}'` : ""}`);
  }
  return positionals;
}

/** <model> [version]. */
function between(positionals: string[], verb: string): [string, string | undefined] {
  const [model, version, extra] = positionals;
  if (!model) throw new UsageError(`${verb} needs <model> [version]`);
  if (extra !== undefined) throw new UsageError(`${verb} needs <model> [version]; unexpected '${extra}'`);
  return [model, version];
}

/** "2" or "v2" (as the state is printed) name version 2. */
function versionOf(s: string): string {
  return /^v\d+$/.test(s) ? s.slice(1) : s;
}

/** "20" or "20%". */
function percentOf(flag: string, s: string): number {
  const n = Number(s.replace(/%$/, ""));
  if (s.trim() === "" || !Number.isFinite(n) || n < 0 || n > 100) throw new UsageError(`${flag} must be a percentage from 0 to 100, not '${s}'`);
  return n;
}

function numberOf(flag: string, s: string, min: number, max: number): number {
  const n = Number(s);
  if (s.trim() === "" || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`${flag} must be a number from ${min} to ${max}, not '${s}'`);
  return n;
}

function person(): string {
  try {
    return os.userInfo().username || "cli";
  } catch {
    return "cli";
  }
}
