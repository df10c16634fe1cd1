import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The serving metrics. Labels are bounded sets (model, version, variant, reason): never request ids. */
export function createServingMetrics(registry: Registry) {
  collectDefaultMetrics({ register: registry });
  return {
    predictions: new Counter({
      name: "model_predictions_total",
      help: "Predictions answered, by model, version and variant.",
      labelNames: ["model", "version", "variant"] as const,
      registers: [registry],
    }),
    labelled: new Counter({
      name: "model_predictions_labelled_total",
      help: "Predictions whose ground-truth label arrived.",
      labelNames: ["model", "version"] as const,
      registers: [registry],
    }),
    correct: new Counter({
      name: "model_predictions_correct_total",
      help: "Labelled predictions that were correct, counted when the label arrives.",
      labelNames: ["model", "version"] as const,
      registers: [registry],
    }),
    latency: new Histogram({
      name: "model_inference_latency_ms",
      help: "Time from a row entering the batcher to its probabilities, in milliseconds.",
      labelNames: ["model", "version", "variant"] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1000],
      registers: [registry],
    }),
    confidence: new Histogram({
      name: "model_prediction_confidence",
      help: "Highest class probability of each prediction.",
      labelNames: ["model", "version"] as const,
      buckets: [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1],
      registers: [registry],
    }),
    errors: new Counter({
      name: "model_prediction_errors_total",
      help: "Rejected or failed predictions by reason (validation reasons, inference failures, shadow failures).",
      labelNames: ["model", "version", "reason"] as const,
      registers: [registry],
    }),
    unknownCategories: new Counter({
      name: "model_unknown_category_total",
      help: "Categorical values never seen in training, served through the unknown slot.",
      labelNames: ["model", "feature"] as const,
      registers: [registry],
    }),
    feedback: new Counter({
      name: "model_feedback_total",
      help: "Feedback labels by outcome: joined to a prediction, unknown request id, or invalid.",
      labelNames: ["outcome"] as const,
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
    deployments: new Counter({
      name: "model_deployment_changes_total",
      help: "Traffic changes applied, by action (deploy, promote, rollback, auto_rollback, set_split).",
      labelNames: ["model", "action"] as const,
      registers: [registry],
    }),
  };
}

export type ServingMetrics = ReturnType<typeof createServingMetrics>;
