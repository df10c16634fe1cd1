import path from "node:path";
import type { NumericBaseline } from "../models/baseline.ts";
import { makeDataset } from "../models/datasets/index.ts";
import { getBaseline, registerVersion, type ModelVersion } from "../models/registry.ts";
import { Rng, subSeed } from "../models/rng.ts";
import type { Dataset, Row } from "../models/schema.ts";
import { attainableModel, type AttainableScorer } from "./attainable.ts";
import { trainModel } from "../models/train.ts";
import { SIM_TOKENS, type SimulationEnvironment } from "./environment.ts";
import type { TimelineEvent } from "./result.ts";
import { ScenarioError, type Injection, type Scenario } from "./scenario.ts";
import { checkInjections, intensity, TrafficSource, type ActiveInjection, type TrafficItem } from "./traffic.ts";

/** What the simulation remembers of each request: the truth and what the service answered. */
export interface Answered {
  requestId: string;
  row: Row;
  label: number;
  predicted: number | null;
  version: string | null;
  failed: boolean;
}

/**
 * One scenario's world: its model registered and deployed, its traffic sent request by request
 * over HTTP with virtual time advancing, labels delivered late through /v1/feedback, and each
 * phase's injections switched on when the phase begins.
 */
export class ScenarioRun {
  readonly model: string;
  readonly answers: Answered[] = [];
  readonly timeline: TimelineEvent[] = [];
  readonly total: number;
  readonly faultStart: number | null;
  v1!: ModelVersion;
  private source!: TrafficSource;
  private reference!: Map<string, NumericBaseline>;
  private active: ActiveInjection[] = [];
  private attainableScorer: AttainableScorer | undefined;
  private pendingLabels: { due: number; requestId: string; label: string }[] = [];
  private phaseStarts: number[] = [];

  readonly scenario: Scenario;

  constructor(
    private readonly env: SimulationEnvironment,
    scenario: Scenario,
    scenarioDir: string,
  ) {
    // A CSV path is relative to the scenario file, wherever the command runs from.
    const ds = scenario.dataset;
    this.scenario = "csv" in ds ? { ...scenario, dataset: { ...ds, csv: path.resolve(scenarioDir, ds.csv) } } : scenario;
    this.model = `${scenario.name}-s${scenario.seed}`.toLowerCase().replace(/[^a-z0-9_-]/g, "-").slice(0, 64);
    this.total = scenario.phases.reduce((a, p) => a + p.requests, 0);
    let start = 0;
    for (const p of scenario.phases) {
      this.phaseStarts.push(start);
      start += p.requests;
    }
    const firstFault = scenario.phases.findIndex((p) => p.inject.length > 0);
    this.faultStart = firstFault < 0 || scenario.expect.rootCause === "none" ? null : this.phaseStarts[firstFault]!;
  }

  /** Trains and deploys version 1 on the scenario's data set. */
  async setup(): Promise<void> {
    const training = this.dataset(this.scenario.trainingRows, subSeed(this.scenario.seed, "training"));
    this.v1 = await this.register(training, "initial version");
    const problems = checkInjections(this.scenario, this.v1.schema);
    if (problems.length > 0) throw new ScenarioError(`${this.scenario.name}: ${problems[0]}`);
    await this.admin("deploy", { version: this.v1.version, role: "primary", reason: "simulation: initial deployment" });
    const baseline = await getBaseline(this.env.store, this.model, this.v1.version);
    this.reference = new Map(baseline.features.filter((f): f is NumericBaseline => f.type === "numeric").map((f) => [f.name, f]));
    this.source = new TrafficSource(this.scenario, this.v1.schema, this.reference, this.total);
  }

  phaseAt(i: number): number {
    let p = 0;
    while (p + 1 < this.phaseStarts.length && this.phaseStarts[p + 1]! <= i) p++;
    return p;
  }

  /** Switches on the phase's injections; deploys and fault settings take effect through the admin API. */
  async beginPhase(p: number): Promise<void> {
    const phase = this.scenario.phases[p]!;
    const start = this.phaseStarts[p]!;
    this.note(start, "phase", `${phase.name} (${phase.requests} requests)`);
    for (const injection of phase.inject) {
      this.active.push({ injection, start });
      this.note(start, "inject", describe(injection));
      if (injection.type === "bad_deploy") await this.badDeploy(injection);
    }
  }

  /** Sends requests [from, to) with `concurrency` in flight, advancing virtual time per request. */
  async send(from: number, to: number, concurrency = 8): Promise<void> {
    for (let i = from; i < to; i += concurrency) {
      await this.updateInfraFaults(i);
      const batch: Promise<void>[] = [];
      for (let j = i; j < Math.min(to, i + concurrency); j++) {
        this.env.clock.advanceSeconds(this.scenario.secondsPerRequest);
        batch.push(this.predict(j, this.source.item(j, this.active)));
      }
      await Promise.all(batch);
      await this.deliverLabels(Math.min(to, i + concurrency));
    }
  }

  /** Delivers every label due by request i, in one feedback call. */
  async deliverLabels(i: number, all = false): Promise<void> {
    const due = all ? this.pendingLabels : this.pendingLabels.filter((l) => l.due <= i);
    if (due.length === 0) return;
    this.pendingLabels = all ? [] : this.pendingLabels.filter((l) => l.due > i);
    for (let k = 0; k < due.length; k += 1000) {
      await this.post("/v1/feedback", { labels: due.slice(k, k + 1000).map((l) => ({ request_id: l.requestId, label: l.label })) });
    }
  }

  /** Accuracy the simulation itself observed over answered requests [from, to), from the truth it holds. */
  accuracy(from: number, to: number): number | null {
    const slice = this.answers.slice(Math.max(0, from), Math.max(0, to)).filter((a) => a.predicted !== null);
    return slice.length === 0 ? null : slice.filter((a) => a.predicted === a.label).length / slice.length;
  }

  /** What a model trained on the post-fault population scores on answered requests [from, to). */
  attainable(from: number, to: number): number | null {
    const scored = this.answers.slice(Math.max(0, from), Math.max(0, to)).filter((a) => a.predicted !== null).map((a) => ({ row: a.row, label: a.label }));
    this.attainableScorer ??= attainableModel(this.scenario, this.v1.schema, this.reference);
    return this.attainableScorer(scored);
  }

  errorRate(from: number, to: number): number | null {
    const slice = this.answers.slice(Math.max(0, from), Math.max(0, to));
    return slice.length === 0 ? null : slice.filter((a) => a.failed).length / slice.length;
  }

  note(request: number, kind: TimelineEvent["kind"], text: string): void {
    this.timeline.push({ request, kind, text });
  }

  async admin(route: string, body: Record<string, unknown>): Promise<unknown> {
    const faults = route === "faults";
    return this.post(`/v1/admin/models/${this.model}/${route}`, faults ? body : { actor: "simulation", ...body }, SIM_TOKENS.admin, faults ? "PUT" : "POST");
  }

  private async predict(i: number, item: TrafficItem): Promise<void> {
    const requestId = `${this.model}-${i}`;
    const res = await fetch(`${this.env.service.url}/v1/models/${this.model}/predict`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": requestId, "x-correlation-id": `user-${i % 997}` },
      body: JSON.stringify({ features: item.row }),
    });
    const body = (await res.json()) as { version?: string; predictions?: { predicted: string }[] };
    const predicted = res.ok ? this.v1.schema.classes.indexOf(body.predictions![0]!.predicted) : null;
    this.answers[i] = { requestId, row: item.row, label: item.label, predicted, version: body.version ?? null, failed: !res.ok };
    if (res.ok) this.pendingLabels.push({ due: i + this.scenario.labelDelayRequests, requestId, label: this.v1.schema.classes[item.label]! });
  }

  /** Infra faults follow their ramps: the settings are refreshed as the intensity grows. */
  private async updateInfraFaults(i: number): Promise<void> {
    const infra = this.active.filter((a) => a.injection.type === "latency_regression" || a.injection.type === "error_spike");
    if (infra.length === 0 || (i % 100 !== 0 && !infra.some((a) => a.start === i))) return;
    let settings = { extraLatencyMs: 0, latencyFraction: 0, errorFraction: 0 };
    for (const a of infra) {
      const k = intensity(a, i);
      if (a.injection.type === "latency_regression") settings = { ...settings, extraLatencyMs: a.injection.extraMs, latencyFraction: a.injection.fraction * k };
      if (a.injection.type === "error_spike") settings = { ...settings, errorFraction: a.injection.fraction * k };
    }
    await this.admin("faults", settings);
  }

  private async badDeploy(injection: Extract<Injection, { type: "bad_deploy" }>): Promise<void> {
    const seed = subSeed(this.scenario.seed, "bad-deploy");
    const data = this.dataset(this.scenario.trainingRows, seed);
    const rng = new Rng(seed);
    const classes = data.schema.classes.length;
    const examples = data.examples.map((e) => ({
      row: Object.fromEntries(Object.entries(e.row).map(([k, v]) => [k, injection.dropFeatures.includes(k) ? null : v])),
      // A labelling bug, not noise: rows of the first class are mislabelled as the next one, which
      // moves the decision boundary (symmetric noise barely hurts a logistic model).
      label: e.label === 0 && rng.next() < injection.labelNoise ? 1 % classes : e.label,
    }));
    const worse = await this.register({ ...data, examples }, injection.labelNoise > 0 || injection.dropFeatures.length > 0 ? "worse version" : "new version");
    await this.admin("deploy", { version: worse.version, role: "primary", reason: "simulation: a new version is released" });
  }

  private dataset(n: number, seed: number): Dataset {
    return makeDataset(this.scenario.dataset, n, seed);
  }

  private async register(dataset: Dataset, description: string): Promise<ModelVersion> {
    const kind = this.scenario.model.kind;
    const trained = trainModel({ dataset, kind, seed: this.scenario.seed });
    return registerVersion(this.env.store, this.env.config.modelDir, {
      model: this.model,
      kind,
      onnx: trained.onnx,
      schema: trained.schema,
      metrics: trained.metrics,
      trainingData: { ...trained.trainingData, description },
      baseline: trained.baseline,
      reference: dataset.examples,
      actor: "simulation",
    });
  }

  private async post(pathname: string, body: unknown, token?: string, method = "POST"): Promise<unknown> {
    const res = await fetch(this.env.service.url + pathname, {
      method,
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as unknown;
    if (!res.ok) throw new ScenarioError(`${method} ${pathname} answered ${res.status}: ${JSON.stringify(json)}`);
    return json;
  }
}

function describe(i: Injection): string {
  const ramp = i.rampRequests > 0 ? `, ramped over ${i.rampRequests} requests` : "";
  switch (i.type) {
    case "covariate_shift":
      return `covariate shift of ${i.feature}: mean ${i.shiftStd >= 0 ? "+" : ""}${i.shiftStd} std, spread ×${i.scale}${ramp}`;
    case "concept_drift":
      return `concept drift, strength ${i.strength}${ramp}`;
    case "new_category":
      return `new ${i.feature} values ${i.values.join(", ")} in ${(i.fraction * 100).toFixed(0)}% of requests${ramp}`;
    case "missing_values":
      return `${i.feature} missing in ${(i.fraction * 100).toFixed(0)}% of requests${ramp}`;
    case "bad_deploy":
      return `a new version is deployed (training labels ${(i.labelNoise * 100).toFixed(0)}% flipped${i.dropFeatures.length ? `, without ${i.dropFeatures.join(", ")}` : ""})`;
    case "latency_regression":
      return `+${i.extraMs} ms on ${(i.fraction * 100).toFixed(0)}% of requests${ramp}`;
    case "error_spike":
      return `errors on ${(i.fraction * 100).toFixed(0)}% of requests${ramp}`;
  }
}
