import { driftOverTime, getAccuracy, listModelsOverview, modelHealth, type AccuracyReport, type DriftOverTime, type HealthReport, type ModelOverview } from "../analysis/index.ts";
import { NoBaselineError } from "../models/registry.ts";
import { listIncidents, type IncidentListing } from "../incidents/incident-store.ts";
import { banditAllocation, type ArmAllocation } from "../rollout/bandit.ts";
import { viewPlan, type PlanView } from "../rollout/plan-view.ts";
import { listPlans } from "../rollout/plan-store.ts";
import type { Store } from "../store/client.ts";
import { deploymentHistory, type StoredDeploymentEvent, type TrafficState } from "../store/deployments.ts";

/** The console's look back: the last hour, as `list_models` counts it. */
export const WINDOW_SECONDS = 3600;
/** The model page's trend: one point a minute. */
const TREND_BUCKET_SECONDS = 60;
/** The heat map's columns: twelve over the hour, enough rows each for a PSI that is not noise. */
const DRIFT_BUCKET_SECONDS = 300;

/** One model's line on the models page. */
export interface ModelFigures {
  model: string;
  traffic: TrafficState;
  requests: number;
  errorRate: number | null;
  p99Ms: number | null;
  /** Realized on labelled rows; null without labels. */
  accuracy: number | null;
  /** CBPE's estimate from confidences, while labels lag. */
  estimated: number | null;
  labelCoverage: number | null;
  openIncidents: number;
}

/** The model page: the line above plus versions, deploy history, running plan, trends and incidents. */
export interface ModelDetail extends ModelFigures {
  versions: ModelOverview["versions"];
  history: StoredDeploymentEvent[];
  plan: PlanView | null;
  /** The running bandit's arms as every replica computes them from the store; null without one. */
  bandit: ArmAllocation[] | null;
  incidents: IncidentListing[];
  /** Per bucket: start (s since the epoch), realized and estimated accuracy, p99 ms. */
  trend: { t: number[]; accuracy: (number | null)[]; estimated: (number | null)[]; p99: (number | null)[] };
  /** Each feature's PSI per bucket; null, with `noDrift` saying why, when the version has no baseline. */
  drift: DriftOverTime | null;
  noDrift: string | null;
}

export async function modelsFigures(store: Store, nowUs: number): Promise<ModelFigures[]> {
  const [overview, open] = await Promise.all([listModelsOverview(store, nowUs), listIncidents(store, { open: true, limit: 1000, offset: 0 })]);
  return Promise.all(
    overview.models.map(async (m) => {
      const [health, accuracy] = await Promise.all([modelHealth(store, { model: m.model, window: windowAt(nowUs) }), getAccuracy(store, { model: m.model, window: windowAt(nowUs) })]);
      return lineOf(m, health, accuracy, open);
    }),
  );
}

/** null: no such model. */
export async function modelDetail(store: Store, model: string, nowUs: number): Promise<ModelDetail | null> {
  const overview = (await listModelsOverview(store, nowUs)).models.find((m) => m.model === model);
  if (!overview) return null;
  const window = windowAt(nowUs);
  const bandit = overview.traffic.bandit;
  const [incidents, history, plans, health, accuracy, drift, allocation] = await Promise.all([
    listIncidents(store, { model, limit: 50, offset: 0 }),
    deploymentHistory(store, model, 50),
    listPlans(store, { model, status: "running", limit: 1 }),
    modelHealth(store, { model, window, bucketSeconds: TREND_BUCKET_SECONDS }),
    getAccuracy(store, { model, window, bucketSeconds: TREND_BUCKET_SECONDS }),
    driftOrReason(store, model, window),
    bandit ? banditAllocation(store, model, bandit) : null,
  ]);
  const line = lineOf(overview, health, accuracy, incidents.filter((i) => i.closedAt === null));
  const p99ByStart = new Map(health.trend.map((b) => [b.startUs, b.latencyMs?.p99 ?? null]));
  return {
    ...line,
    versions: overview.versions,
    history,
    plan: plans[0] ? viewPlan(plans[0]) : null,
    bandit: allocation,
    incidents,
    trend: {
      t: accuracy.trend.map((b) => b.startUs / 1e6),
      accuracy: accuracy.trend.map((b) => b.accuracy),
      estimated: accuracy.trend.map((b) => b.estimated),
      p99: accuracy.trend.map((b) => p99ByStart.get(b.startUs) ?? null),
    },
    ...drift,
  };
}

async function driftOrReason(store: Store, model: string, window: { fromUs: number; toUs: number }): Promise<Pick<ModelDetail, "drift" | "noDrift">> {
  try {
    return { drift: await driftOverTime(store, { model, window, bucketSeconds: DRIFT_BUCKET_SECONDS }), noDrift: null };
  } catch (err) {
    if (err instanceof NoBaselineError) return { drift: null, noDrift: `No drift figures: ${err.message}.` };
    throw err;
  }
}

function windowAt(nowUs: number) {
  return { fromUs: nowUs - WINDOW_SECONDS * 1e6, toUs: nowUs };
}

function lineOf(m: ModelOverview, health: HealthReport, accuracy: AccuracyReport, open: IncidentListing[]): ModelFigures {
  const served = health.served;
  return {
    model: m.model,
    traffic: m.traffic,
    requests: served.rows,
    errorRate: served.rows ? served.errorRate : null,
    p99Ms: served.latencyMs?.p99 ?? null,
    accuracy: accuracy.accuracy,
    estimated: accuracy.estimated?.accuracy ?? null,
    labelCoverage: accuracy.predictions ? accuracy.labelCoverage : null,
    openIncidents: open.filter((i) => i.model === m.model).length,
  };
}
