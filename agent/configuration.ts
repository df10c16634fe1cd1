import path from "node:path";
import { z } from "zod";
import { ConfigError } from "../config.ts";

/**
 * The agent's runtime options: SLOs, rule thresholds, windows, the MCP endpoint and the reasoner.
 * Read from the environment once (`loadAgentConfig`); tests and simulations pass overrides instead.
 */
export interface AgentConfig {
  slo: {
    /** Realized (or estimated) accuracy below this is a breach. */
    minAccuracy: number;
    /** A drop of more than this (absolute, 0.05 = 5 points) against the baseline is a breach. */
    maxAccuracyDrop: number;
    maxErrorRate: number;
    maxP99Ms: number;
  };
  thresholds: {
    /** Labelled rows needed before realized accuracy is trusted; below it, CBPE's estimate is used. */
    minLabelled: number;
    /** Share of drifted features that makes the whole data set count as drifted. */
    driftShare: number;
    /** Rows a window needs before its dataset drift verdict alone opens an investigation. */
    minDriftRows: number;
    /** PSI from which a feature counts as shifted, whatever its own test said (0.2 is the usual "major" bound). */
    psiMajor: number;
    /**
     * A feature's permutation importance (accuracy lost when it is shuffled) under which the model is
     * taken not to rely on it; see negligibleImportance.
     */
    negligibleImportance: number;
    /** Share of a categorical feature's rows whose value training never saw. */
    unseenShare: number;
    /** Rise of a feature's missing-value rate over its reference (absolute). */
    missingRise: number;
    /** How long after a primary change a deployment still counts as "recent". */
    recentDeploySeconds: number;
    relative: RelativeThresholds;
    deploy: DeployThresholds;
    heldOut: HeldOutThresholds;
  };
  /** Window monitor and investigate look at. */
  windowSeconds: number;
  verify: {
    deadlineSeconds: number;
    pollSeconds: number;
    /** The agent follows a rollout plan this long before it aborts it and hands over to a person. */
    rolloutDeadlineSeconds: number;
    /** Recovered = within this (absolute accuracy) of the baseline. */
    tolerance: number;
    /** Rows the post-action window needs before its figures count. */
    minRows: number;
  };
  mcp: {
    url: string;
    /** The agent's own token: it can propose and apply, never approve. */
    token: string | undefined;
    /** A person's token (chat), or the auto-approver's when autoApprove is on. Never used by the graph otherwise. */
    approverToken: string | undefined;
  };
  ollama: { host: string | undefined; model: string };
  /** Simulation only: approve every proposal through an explicitly configured approver connection. */
  autoApprove: boolean;
  checkpointPath: string;
  intervalSeconds: number;
  /** Bearer token Alertmanager must send to POST /v1/alerts; unset = loopback-only like the admin API. */
  alertToken: string | undefined;
}

/**
 * A version against its own reference period (get_model_health's baselines). Slow means over the
 * reference median by the server's margin (10 ms by default) and over its p95. The stalls of a busy host put some
 * requests there in the reference period too, so the share now is compared with the share then:
 * on a loaded machine p95 and p99 swing with those stalls, the median and that share do not.
 */
export interface RelativeThresholds {
  /** Answered requests the window needs after the reference period. */
  minRows: number;
  /** Answered requests the reference period needs: a version's first few hundred (warm-up, an empty store) are not its usual. */
  minReferenceRows: number;
  /** "All requests slower": the median at least this many times the reference's ... */
  ratio: number;
  /** ... and at least this many ms over it. */
  minDeltaMs: number;
  /** "A share slower": the slow share at least this much (absolute) and `ratio` times over the reference's ... */
  slowShare: number;
  /** ... beyond chance (one-sided two-proportion test), and still so in the newer half of the window. */
  pValue: number;
  /** From this share of slow requests on, all requests are called slow. */
  allShare: number;
  /** Error rate: at least this much (absolute) over the reference and `errorFactor` times it, significant at `pValue`. */
  errorRise: number;
  errorFactor: number;
}

/**
 * Realized accuracy against the version's own held-out accuracy at training. Not below it at
 * `asTrainedLevel` (one-sided test): the version serves as trained, so an accuracy under the SLO
 * floor is recorded as a notice rather than opening an incident no retrain would close. Strict,
 * because a silenced floor breach is only recorded.
 */
export interface HeldOutThresholds {
  asTrainedLevel: number;
  /**
   * Realized accuracy stands once a fall of the SLO's allowed drop under the held-out accuracy would
   * be significant at this one-sided level on the labels there are (labelsToJudge): the monitor looks
   * every poll, so each look must be strict for a run of dozens of looks to stay quiet.
   */
  judgeLevel: number;
}

/** A newly deployed version measured against the one it replaced. */
export interface DeployThresholds {
  /** Less accurate by at least this with a one-sided test below `pValue`: a bad deploy, even under the SLO's allowed drop. */
  minDrop: number;
  pValue: number;
  /** When its inputs drift against its own training baseline only (trained on data unlike its traffic), this drop is enough. */
  mismatchMinDrop: number;
}

const envSchema = z.object({
  MLWATCH_DATA_DIR: z.string().min(1).default("./.mlwatch"),
  MLWATCH_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** The MCP endpoint of `mlwatch serve` (the same variable `mlwatch mcp` bridges to). */
  MLWATCH_URL: z.url().optional(),
  MLWATCH_MCP_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  MLWATCH_APPROVER_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  OLLAMA_HOST: z.string().min(1).optional(),
  MLWATCH_OLLAMA_MODEL: z.string().min(1).default("qwen2.5:7b"),
  MLWATCH_AUTO_APPROVE: z.enum(["0", "1"]).default("0"),
  MLWATCH_SLO_MIN_ACCURACY: z.coerce.number().min(0).max(1).default(0.9),
  MLWATCH_SLO_MAX_ACCURACY_DROP: z.coerce.number().min(0).max(1).default(0.05),
  MLWATCH_SLO_MAX_ERROR_RATE: z.coerce.number().min(0).max(1).default(0.02),
  MLWATCH_SLO_MAX_P99_MS: z.coerce.number().positive().default(250),
  MLWATCH_AGENT_MIN_LABELLED: z.coerce.number().int().min(1).default(200),
  MLWATCH_AGENT_DRIFT_SHARE: z.coerce.number().min(0).max(1).default(0.5),
  MLWATCH_AGENT_WINDOW_S: z.coerce.number().int().positive().default(3600),
  MLWATCH_AGENT_RECENT_DEPLOY_S: z.coerce.number().int().positive().default(24 * 3600),
  MLWATCH_AGENT_VERIFY_DEADLINE_S: z.coerce.number().positive().default(900),
  MLWATCH_AGENT_VERIFY_POLL_S: z.coerce.number().positive().default(30),
  // A rollout plan waits for labels at every stage: days, not minutes, on real traffic.
  MLWATCH_AGENT_ROLLOUT_DEADLINE_S: z.coerce.number().positive().default(3 * 86_400),
  MLWATCH_AGENT_VERIFY_TOLERANCE: z.coerce.number().min(0).max(1).default(0.02),
  MLWATCH_AGENT_VERIFY_MIN_ROWS: z.coerce.number().int().min(1).default(200),
  MLWATCH_AGENT_INTERVAL_S: z.coerce.number().positive().default(300),
  MLWATCH_ALERT_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
});

/** A ConfigError, so the CLI prints it as one line naming the variable. */
export class AgentConfigError extends ConfigError {}

export function loadAgentConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const set = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(set);
  if (!parsed.success) {
    throw new AgentConfigError(`invalid agent configuration: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  }
  const e = parsed.data;
  const autoApprove = e.MLWATCH_AUTO_APPROVE === "1";
  if (autoApprove && !e.MLWATCH_APPROVER_TOKEN) {
    throw new AgentConfigError("MLWATCH_AUTO_APPROVE=1 needs MLWATCH_APPROVER_TOKEN: auto-approval goes through an approver connection configured for it");
  }
  return {
    slo: {
      minAccuracy: e.MLWATCH_SLO_MIN_ACCURACY,
      maxAccuracyDrop: e.MLWATCH_SLO_MAX_ACCURACY_DROP,
      maxErrorRate: e.MLWATCH_SLO_MAX_ERROR_RATE,
      maxP99Ms: e.MLWATCH_SLO_MAX_P99_MS,
    },
    thresholds: {
      minLabelled: e.MLWATCH_AGENT_MIN_LABELLED,
      driftShare: e.MLWATCH_AGENT_DRIFT_SHARE,
      minDriftRows: 500,
      psiMajor: 0.2,
      negligibleImportance: 0.005,
      unseenShare: 0.05,
      missingRise: 0.05,
      recentDeploySeconds: e.MLWATCH_AGENT_RECENT_DEPLOY_S,
      // "Several times the usual latency": twice the median and 10 ms more, or 5 more points of requests 10 ms over it.
      relative: { minRows: 200, minReferenceRows: 500, ratio: 2, minDeltaMs: 10, slowShare: 0.05, pValue: 1e-3, allShare: 0.9, errorRise: 0.01, errorFactor: 3 },
      deploy: { minDrop: 0.02, pValue: 0.01, mismatchMinDrop: 0.01 },
      heldOut: { asTrainedLevel: 0.01, judgeLevel: 0.001 },
    },
    windowSeconds: e.MLWATCH_AGENT_WINDOW_S,
    verify: {
      deadlineSeconds: e.MLWATCH_AGENT_VERIFY_DEADLINE_S,
      pollSeconds: e.MLWATCH_AGENT_VERIFY_POLL_S,
      rolloutDeadlineSeconds: e.MLWATCH_AGENT_ROLLOUT_DEADLINE_S,
      tolerance: e.MLWATCH_AGENT_VERIFY_TOLERANCE,
      minRows: e.MLWATCH_AGENT_VERIFY_MIN_ROWS,
    },
    mcp: {
      url: e.MLWATCH_URL ?? `http://127.0.0.1:${e.MLWATCH_PORT || 8080}/mcp`,
      token: e.MLWATCH_MCP_TOKEN,
      approverToken: e.MLWATCH_APPROVER_TOKEN,
    },
    ollama: { host: e.OLLAMA_HOST, model: e.MLWATCH_OLLAMA_MODEL },
    autoApprove,
    checkpointPath: path.join(path.resolve(e.MLWATCH_DATA_DIR), "agent-checkpoints.sqlite"),
    intervalSeconds: e.MLWATCH_AGENT_INTERVAL_S,
    alertToken: e.MLWATCH_ALERT_TOKEN,
  };
}

/** Defaults with parts replaced: what tests and simulations use instead of the environment. */
export function agentConfig(overrides: DeepPartial<AgentConfig> = {}, env: NodeJS.ProcessEnv = {}): AgentConfig {
  return merge(loadAgentConfig(env), overrides);
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object | undefined ? DeepPartial<NonNullable<T[K]>> | T[K] : T[K] };

function merge<T>(base: T, over: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(over)) return (over === undefined ? base : over) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merge((base as Record<string, unknown>)[k], v);
  return out as T;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
