import { performance } from "node:perf_hooks";
import { binRow } from "../models/baseline.ts";
import { unknownCategories } from "../models/encode.ts";
import type { Row } from "../models/schema.ts";
import { nowMicros } from "../store/clock.ts";
import type { PredictionRow, Variant } from "../store/tables.ts";
import { MicroBatcher } from "./batcher.ts";
import { fallbackVersion, ScoreFailure, withinTimeout, type FallbackReason } from "./fallback.ts";
import type { FaultInjector } from "./faults.ts";
import { featureHash } from "./feature-hash.ts";
import type { ServingMetrics } from "./metrics.ts";
import type { PredictionCache } from "./prediction-cache.ts";
import { assign, mirrorToShadow, type Assignment } from "./routing.ts";
import type { LoadedVersion, SessionCache } from "./sessions.ts";
import type { TrafficController } from "./traffic.ts";
import { validateRows, type FieldError } from "./validate-rows.ts";

export interface RowOutcome {
  requestId: string;
  predicted: string;
  probabilities: number[];
  confidence: number;
  featureHash: string;
}

export interface PredictResult {
  model: string;
  /** The version that answered: the routed one, or its fallback. */
  version: string;
  variant: Exclude<Variant, "shadow">;
  outcomes: RowOutcome[];
  /** Set when the routed version could not answer and `version` answered instead. */
  fallback?: { version: string; reason: FallbackReason };
}

export interface PredictRequest {
  model: string;
  instances: readonly unknown[];
  requestIds: string[];
  routingKey: string;
  correlationId: string;
  /** The batch job these rows belong to (logged in job_id); such requests do not count as interactive. */
  jobId?: string;
}

/** What the predictor needs of the log writer: a synchronous, durable append. */
export interface PredictionLog {
  append(rows: readonly PredictionRow[]): "ok" | "dropped" | "refused";
}

/** Told of every scored batch; the automatic-rollback guard listens here. */
export type OutcomeListener = (model: string, version: string, variant: Variant, latencyMs: number, failed: boolean) => void;

export class PredictError extends Error {
  constructor(
    readonly status: 400 | 404 | 500 | 503,
    readonly code: string,
    message: string,
    readonly fields: FieldError[] = [],
  ) {
    super(message);
  }
}

export interface PredictorOptions {
  sessions: SessionCache;
  traffic: TrafficController;
  metrics: ServingMetrics;
  log: PredictionLog;
  logFeatures: "raw" | "hash";
  batchWindowMs: number;
  batchMaxRows: number;
  onOutcome?: OutcomeListener;
  onShadowError?: (err: unknown) => void;
  /** Present only when fault injection is enabled (simulations). */
  faults?: FaultInjector;
  /**
   * "virtual" (simulations, MLWATCH_LATENCY_CLOCK): a request's latency is a fixed compute time plus
   * the injected delay, so a loaded machine cannot change what the log says; "wall" measures it.
   */
  latencyClock?: "wall" | "virtual";
  /** Answer from the previous primary when the routed version fails or exceeds timeoutMs; absent: off. */
  fallback?: { timeoutMs: number };
  cache?: PredictionCache;
}

interface ScoreOptions {
  timeoutMs?: number;
  fallback?: FallbackReason;
}

/** The compute time every request is given on the virtual latency clock. */
export const VIRTUAL_COMPUTE_MS = 1;

export class Predictor {
  private readonly batchers = new Map<string, MicroBatcher>();
  private interactive = 0;

  constructor(private readonly o: PredictorOptions) {}

  /** Requests being answered now, batch-job chunks aside: a job yields while there are any. */
  get interactiveInFlight(): number {
    return this.interactive;
  }

  async predict(req: PredictRequest): Promise<PredictResult> {
    if (req.jobId) return this.answer(req);
    this.interactive++;
    try {
      return await this.answer(req);
    } finally {
      this.interactive--;
    }
  }

  private async answer(req: PredictRequest): Promise<PredictResult> {
    const state = this.o.traffic.state(req.model);
    if (!state?.primary) {
      throw new PredictError(404, "unknown_model", state ? `model '${req.model}' has no deployed version` : `unknown model '${req.model}'`);
    }
    const target = assign(state, req.routingKey, this.o.traffic.allocation(req.model))!;
    const alternative = this.o.fallback ? fallbackVersion(state, target) : null;
    const spare = alternative ? this.o.sessions.loadedNow(req.model, alternative) : undefined;
    let loaded: LoadedVersion;
    try {
      loaded = await this.load(req.model, target.version, target.variant);
    } catch (err) {
      const rows = spare && validateRows(req.instances, spare.meta.schema).length === 0 ? (req.instances as Row[]) : undefined;
      if (!(err instanceof ScoreFailure) || !spare || !rows) throw asPredictError(err);
      return this.fallBack(spare, target, err, rows, req);
    }
    const errors = validateRows(req.instances, loaded.meta.schema);
    if (errors.length > 0) {
      // One rejected request is one error, whatever the number of bad fields; the first names the reason.
      this.o.metrics.errors.inc({ model: req.model, version: target.version, reason: errors[0]!.code });
      throw new PredictError(400, "invalid_features", `${errors[0]!.field}: ${errors[0]!.reason}`, errors);
    }
    const rows = req.instances as Row[];
    this.countUnknownCategories(req.model, rows, loaded);
    let outcomes: RowOutcome[];
    try {
      outcomes = await this.score(loaded, target.variant, rows, req, { timeoutMs: spare ? this.o.fallback!.timeoutMs : undefined });
    } catch (err) {
      // The alternative is checked against its own schema: versions of one model may differ.
      if (!(err instanceof ScoreFailure) || !spare || validateRows(rows, spare.meta.schema).length > 0) throw asPredictError(err);
      return this.fallBack(spare, target, err, rows, req);
    }
    const shadowVersion = mirrorToShadow(state, req.requestIds[0] ?? req.routingKey);
    if (shadowVersion && shadowVersion !== target.version) {
      // After the answer: a shadow never delays or breaks the primary's reply.
      setImmediate(() => void this.shadow(req, rows, shadowVersion).catch((err) => this.o.onShadowError?.(err)));
    }
    return { model: req.model, version: target.version, variant: target.variant, outcomes };
  }

  /** The routed version failed (and was counted as failing); the loaded alternative answers, marked. */
  private async fallBack(spare: LoadedVersion, failed: Assignment, failure: ScoreFailure, rows: Row[], req: PredictRequest): Promise<PredictResult> {
    this.o.metrics.fallbacks.inc({ model: req.model, version: failed.version, reason: failure.reason });
    try {
      const outcomes = await this.score(spare, "fallback", rows, req, { fallback: failure.reason });
      return { model: req.model, version: spare.meta.version, variant: "fallback", outcomes, fallback: { version: failed.version, reason: failure.reason } };
    } catch {
      // The routed version's failure is the one the caller needs to hear about.
      throw asPredictError(failure);
    }
  }

  private async score(loaded: LoadedVersion, variant: Variant, rows: Row[], req: PredictRequest, opts: ScoreOptions = {}): Promise<RowOutcome[]> {
    const { model, version } = loaded.meta;
    const started = performance.now();
    const virtual = this.o.latencyClock === "virtual";
    let injectedMs = 0;
    const elapsed = () => (virtual ? VIRTUAL_COMPUTE_MS + injectedMs : performance.now() - started);
    const hashes = rows.map(featureHash);
    const cached = this.cached(loaded, hashes);
    const misses = rows.flatMap((row, i) => (cached[i] ? [] : [row]));
    let computed: Float32Array | undefined;
    try {
      if (misses.length > 0) {
        // The timeout covers an injected delay too: to a caller it is the backend being slow.
        const run = async () => {
          if (variant !== "shadow") injectedMs = (await this.o.faults?.before(model, virtual)) ?? 0;
          return this.batcher(loaded).submit(loaded.encode(misses), misses.length);
        };
        computed = await withinTimeout(run(), opts.timeoutMs);
        // Extreme inputs can overflow a model to NaN; that is the model failing on them, not an answer.
        if (!computed.every(Number.isFinite)) throw new ScoreFailure("non_finite_output", "inference_failed", "the model returned a non-finite probability for this input");
      }
    } catch (err) {
      const latencyMs = elapsed();
      this.o.metrics.errors.inc({ model, version, reason: "inference_failed" });
      this.o.onOutcome?.(model, version, variant, latencyMs, true);
      this.o.log.append(rows.map((row, i) => this.logRow(loaded, variant, row, req, i, null, latencyMs, `inference_failed: ${String(err)}`, opts)));
      const reason = err instanceof ScoreFailure ? err.reason : "inference_failed";
      throw new ScoreFailure(reason, "inference_failed", `model '${model}' version ${version} failed to score: ${err instanceof ScoreFailure ? err.message : String(err)}`);
    }
    const latencyMs = elapsed();
    const classes = loaded.meta.schema.classes.length;
    let next = 0;
    const outcomes = rows.map((_, i) => {
      const p = cached[i] ?? computed!.subarray(next * classes, ++next * classes);
      if (!cached[i]) this.o.cache?.set(model, version, hashes[i]!, p);
      return toOutcome(req.requestIds[i]!, p, loaded.meta.schema.classes, hashes[i]!);
    });
    const logged = this.o.log.append(outcomes.map((o, i) => this.logRow(loaded, variant, rows[i]!, req, i, o, latencyMs, "", opts, !!cached[i])));
    if (logged === "refused") {
      this.o.metrics.errors.inc({ model, version, reason: "log_spool_full" });
      throw new PredictError(503, "log_unavailable", "the prediction log is full and the store unreachable; refusing rather than losing the record");
    }
    this.record(model, version, variant, latencyMs, outcomes, misses.length);
    return outcomes;
  }

  /** Cached answers by row (undefined: a miss), counted; none for a version whose graph draws at random. */
  private cached(loaded: LoadedVersion, hashes: string[]): (Float32Array | undefined)[] {
    const cache = this.o.cache;
    if (!cache || !loaded.deterministic) return [];
    const { model, version } = loaded.meta;
    const found = hashes.map((h) => cache.get(model, version, h));
    const hits = found.filter(Boolean).length;
    if (hits > 0) this.o.metrics.cacheHits.inc({ model, version }, hits);
    if (hits < hashes.length) this.o.metrics.cacheMisses.inc({ model, version }, hashes.length - hits);
    return found;
  }

  /** A version that cannot load fails its requests like one that cannot score: counted, and seen by the guard. */
  private async load(model: string, version: string, variant: Variant): Promise<LoadedVersion> {
    try {
      return await this.o.sessions.get(model, version);
    } catch (err) {
      this.o.metrics.errors.inc({ model, version, reason: "load_failed" });
      this.o.onOutcome?.(model, version, variant, 0, true);
      throw new ScoreFailure("load_failed", "load_failed", `model '${model}' version ${version} cannot be loaded: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async shadow(req: PredictRequest, rows: Row[], version: string): Promise<void> {
    const loaded = await this.load(req.model, version, "shadow");
    if (validateRows(rows, loaded.meta.schema).length > 0) {
      this.o.metrics.errors.inc({ model: req.model, version, reason: "shadow_schema_mismatch" });
      return;
    }
    try {
      await this.score(loaded, "shadow", rows, req);
    } catch {
      this.o.metrics.errors.inc({ model: req.model, version, reason: "shadow_failed" });
    }
  }

  /** A request answered wholly from the cache says nothing of the version's latency or health: it is counted, not timed. */
  private record(model: string, version: string, variant: Variant, latencyMs: number, outcomes: RowOutcome[], computedRows: number): void {
    const m = this.o.metrics;
    m.predictions.inc({ model, version, variant }, outcomes.length);
    if (variant !== "shadow") for (const o of outcomes) m.confidence.observe({ model, version }, o.confidence);
    if (computedRows === 0) return;
    m.latency.observe({ model, version, variant }, latencyMs);
    this.o.onOutcome?.(model, version, variant, latencyMs, false);
  }

  private countUnknownCategories(model: string, rows: Row[], loaded: LoadedVersion): void {
    for (const row of rows) {
      for (const feature of unknownCategories(row, loaded.meta.schema)) this.o.metrics.unknownCategories.inc({ model, feature });
    }
  }

  private batcher(loaded: LoadedVersion): MicroBatcher {
    const key = `${loaded.meta.model}\u0000${loaded.meta.version}`;
    let b = this.batchers.get(key);
    if (!b) {
      b = new MicroBatcher((encoded, rows) => loaded.run(encoded, rows), {
        width: loaded.width,
        outputs: loaded.meta.schema.classes.length,
        windowMs: this.o.batchWindowMs,
        maxRows: this.o.batchMaxRows,
      });
      this.batchers.set(key, b);
    }
    return b;
  }

  private logRow(
    loaded: LoadedVersion,
    variant: Variant,
    row: Row,
    req: PredictRequest,
    i: number,
    o: RowOutcome | null,
    latencyMs: number,
    error: string,
    opts: ScoreOptions,
    cached = false,
  ): PredictionRow {
    const raw = this.o.logFeatures === "raw";
    return {
      request_id: req.requestIds[i]!,
      ts: nowMicros(),
      model: loaded.meta.model,
      version: loaded.meta.version,
      variant,
      feature_num: raw ? loaded.numericNames.map((name) => numericOrNull(row[name])) : [],
      feature_cat: raw ? loaded.categoricalNames.map((name) => stringOrEmpty(row[name])) : [],
      feature_bin: binRow(row, loaded.baseline),
      feature_hash: o?.featureHash ?? featureHash(row),
      predicted: o?.predicted ?? "",
      probabilities: o?.probabilities ?? [],
      confidence: o?.confidence ?? 0,
      latency_us: Math.round(latencyMs * 1000),
      error,
      correlation_id: req.correlationId,
      fallback: opts.fallback ?? "",
      cached: cached ? 1 : 0,
      job_id: req.jobId ?? "",
    };
  }
}

function toOutcome(requestId: string, p: Float32Array, classes: string[], hash: string): RowOutcome {
  let best = 0;
  for (let c = 1; c < p.length; c++) if (p[c]! > p[best]!) best = c;
  return { requestId, predicted: classes[best]!, probabilities: Array.from(p), confidence: p[best]!, featureHash: hash };
}

/** What the caller is told when no version could answer. */
function asPredictError(err: unknown): unknown {
  return err instanceof ScoreFailure ? new PredictError(500, err.code, err.message) : err;
}

function numericOrNull(v: unknown): number | null {
  return typeof v === "number" ? v : null;
}

function stringOrEmpty(v: unknown): string {
  return typeof v === "string" ? v : "";
}
