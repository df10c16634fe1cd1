import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from "prom-client";

/**
 * The serving metrics. Labels are bounded sets (model, version, variant, reason): never request ids.
 * Every model-level metric also carries `environment` (MLWATCH_ENVIRONMENT, default `dev`), set here
 * once so no call site passes it; the process-level ones (feedback, http, runtime) do not.
 *
 * Errors keep the label name `reason` (the seed names it `error_type`): its values are the `code`s
 * the API answers in `errors[]` and `error`, and the recording rules and dashboard select on it.
 */
export function createServingMetrics(registry: Registry, environment: string) {
  // 1 ms resolution (prom-client's default is 10): the stalls worth finding at low load are a few ms.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1 });
  const env = <M extends Counter<string> | Histogram<string> | Gauge<string>>(metric: M) => withEnvironment(metric, environment);
  return {
    predictions: env(
      new Counter({
        name: "model_predictions_total",
        help: "Predictions answered, by model, version and variant.",
        labelNames: ["model", "version", "variant", "environment"] as const,
        registers: [registry],
      }),
    ),
    labelled: env(
      new Counter({
        name: "model_predictions_labelled_total",
        help: "Predictions whose ground-truth label arrived.",
        labelNames: ["model", "version", "environment"] as const,
        registers: [registry],
      }),
    ),
    correct: env(
      new Counter({
        name: "model_predictions_correct_total",
        help: "Labelled predictions that were correct, counted when the label arrives.",
        labelNames: ["model", "version", "environment"] as const,
        registers: [registry],
      }),
    ),
    latency: env(
      new Histogram({
        name: "model_inference_latency_ms",
        help: "Time from a row entering the batcher to its probabilities, in milliseconds.",
        labelNames: ["model", "version", "variant", "environment"] as const,
        buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1000],
        registers: [registry],
      }),
    ),
    confidence: env(
      new Histogram({
        name: "model_prediction_confidence",
        help: "Highest class probability of each prediction.",
        labelNames: ["model", "version", "environment"] as const,
        buckets: [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1],
        registers: [registry],
      }),
    ),
    errors: env(
      new Counter({
        name: "model_prediction_errors_total",
        help: "Rejected or failed predictions by reason (validation reasons, inference failures, shadow failures).",
        labelNames: ["model", "version", "reason", "environment"] as const,
        registers: [registry],
      }),
    ),
    fallbacks: env(
      new Counter({
        name: "model_prediction_fallbacks_total",
        help: "Requests the routed version could not answer and its fallback did, by the version that fell and why.",
        labelNames: ["model", "version", "reason", "environment"] as const,
        registers: [registry],
      }),
    ),
    cacheHits: env(
      new Counter({
        name: "model_prediction_cache_hits_total",
        help: "Rows answered from the prediction cache.",
        labelNames: ["model", "version", "environment"] as const,
        registers: [registry],
      }),
    ),
    cacheMisses: env(
      new Counter({
        name: "model_prediction_cache_misses_total",
        help: "Rows of a cacheable version scored because the cache did not hold them.",
        labelNames: ["model", "version", "environment"] as const,
        registers: [registry],
      }),
    ),
    unknownCategories: env(
      new Counter({
        name: "model_unknown_category_total",
        help: "Categorical values never seen in training, served through the unknown slot.",
        labelNames: ["model", "feature", "environment"] as const,
        registers: [registry],
      }),
    ),
    feedback: new Counter({
      name: "model_feedback_total",
      help: "Feedback labels by outcome: joined to a prediction, unknown request id, or invalid.",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: "http_requests_in_flight",
      help: "Data-plane requests admitted and not yet answered (the count MLWATCH_MAX_IN_FLIGHT bounds).",
      registers: [registry],
    }),
    shed: new Counter({
      name: "http_requests_shed_total",
      help: "Data-plane requests answered 503 overloaded before any work (MLWATCH_MAX_IN_FLIGHT reached), by route.",
      labelNames: ["route"] as const,
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: "http_requests_total",
      help: "HTTP requests by route and status code.",
      labelNames: ["method", "route", "status"] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request duration by route.",
      labelNames: ["method", "route"] as const,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
    banditShare: env(
      new Gauge({
        name: "model_bandit_share",
        help: "Share of served traffic a running bandit gives each arm (0-1), as last computed from the store.",
        labelNames: ["model", "version", "environment"] as const,
        registers: [registry],
      }),
    ),
    banditReward: env(
      new Gauge({
        name: "model_bandit_mean_reward",
        help: "Mean reward of a bandit arm's labelled answers since the bandit started (accuracy less any latency penalty).",
        labelNames: ["model", "version", "environment"] as const,
        registers: [registry],
      }),
    ),
    deployments: env(
      new Counter({
        name: "model_deployment_changes_total",
        help: "Traffic changes applied, by action (deploy, promote, rollback, auto_rollback, set_split).",
        labelNames: ["model", "action", "environment"] as const,
        registers: [registry],
      }),
    ),
  };
}

/**
 * Adds `environment` to every increment or observation of a metric, whether the caller passes labels
 * or not. prom-client sets inc/observe per instance in its constructor, so they are wrapped there.
 */
function withEnvironment<M extends Counter<string> | Histogram<string> | Gauge<string>>(metric: M, environment: string): M {
  const labelled = (labels: unknown, value: unknown): [LabelValues<string>, unknown] =>
    typeof labels === "object" && labels !== null ? [{ ...(labels as LabelValues<string>), environment }, value] : [{ environment }, labels];
  if (metric instanceof Counter) {
    const inc = metric.inc.bind(metric) as (labels: LabelValues<string>, value?: unknown) => void;
    metric.inc = ((labels?: unknown, value?: unknown) => inc(...labelled(labels, value))) as typeof metric.inc;
  } else if (metric instanceof Gauge) {
    const set = metric.set.bind(metric) as (labels: LabelValues<string>, value: unknown) => void;
    metric.set = ((labels: unknown, value?: unknown) => set(...labelled(labels, value))) as typeof metric.set;
  } else {
    const observe = metric.observe.bind(metric) as (labels: LabelValues<string>, value: unknown) => void;
    metric.observe = ((labels: unknown, value?: unknown) => observe(...labelled(labels, value))) as typeof metric.observe;
  }
  return metric;
}

export type ServingMetrics = ReturnType<typeof createServingMetrics>;
