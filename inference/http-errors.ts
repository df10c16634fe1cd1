import type { ZodError } from "zod";
import type { FastifyError, FastifyInstance } from "fastify";
import type { ServingMetrics } from "./metrics.ts";
import { PredictError } from "./predictor.ts";
import { TrafficChangeError } from "../rollout/traffic-changes.ts";
import { ConflictError } from "./traffic.ts";
import { JobError } from "./jobs/job-files.ts";
import { RegistryError } from "../models/registry.ts";

/**
 * One error envelope for every route: `{ error, field?, reason }` with a 4xx naming what was wrong,
 * so a caller can fix the request without reading our logs. Each is counted; the server keeps going.
 */
export function installErrorHandler(app: FastifyInstance, metrics: ServingMetrics, knownModel: (name: string) => boolean): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const params = request.params as { name?: string } | undefined;
    const model = params?.name && knownModel(params.name) ? params.name : "_unknown";
    const count = (reason: string) => metrics.errors.inc({ model, version: "", reason });
    if (err instanceof PredictError) {
      // The predictor counts the failures of a known version itself, with that version; only an
      // unknown model is left to count here.
      if (err.status === 404) count(err.code);
      return reply.code(err.status).send({ error: err.code, field: err.fields[0]?.field, reason: err.message, errors: err.fields.length ? err.fields : undefined });
    }
    if (err instanceof JobError) {
      count(err.code);
      return reply.code(err.status).send({ error: err.code, field: err.field, reason: err.message });
    }
    if (err instanceof ConflictError) return reply.code(409).send({ error: "conflict", reason: err.message });
    if (err instanceof TrafficChangeError) return reply.code(400).send({ error: "invalid_change", field: err.field, reason: err.message });
    if (err instanceof RegistryError) return reply.code(404).send({ error: "not_found", reason: err.message });
    if (err.validation) {
      const first = err.validation[0];
      const field = `${err.validationContext ?? "body"}${(first?.instancePath ?? "").replace(/\//g, ".")}`;
      const reason = first?.params && "additionalProperty" in first.params ? `unknown property '${String(first.params.additionalProperty)}'` : (first?.message ?? err.message);
      count("invalid_request");
      return reply.code(400).send({ error: "invalid_request", field, reason });
    }
    if (err.statusCode === 413 || err.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      count("body_too_large");
      return reply.code(413).send({ error: "body_too_large", reason: err.message });
    }
    if (err.statusCode === 415) {
      count("unsupported_media_type");
      return reply.code(415).send({ error: "unsupported_media_type", field: "content-type", reason: err.message });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      count("malformed_request");
      return reply.code(err.statusCode).send({ error: "malformed_request", field: "body", reason: err.message });
    }
    request.log.error({ err }, "unhandled error");
    count("internal");
    return reply.code(500).send({ error: "internal", reason: "internal error; see the service log" });
  });
}

/** The 400 body for a request body zod refused: its first issue, with the path as `field`. */
export function invalidBody(error: ZodError): { error: "invalid_request"; field: string; reason: string } {
  const issue = error.issues[0]!;
  const path = issue.code === "unrecognized_keys" ? issue.keys : issue.path;
  return { error: "invalid_request", field: ["body", ...path].join("."), reason: issue.message };
}
