import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { answer, documentedBody, errorResponses, requires } from "../../http/openapi.ts";
import { EnsembleError, ensembleSpecSchema } from "../../models/ensemble.ts";
import { registerEnsemble } from "../../models/register-ensemble.ts";
import { bearerGuard } from "../auth.ts";
import { invalidBody } from "../http-errors.ts";
import { modelParams, modelVersionSchema, type ModelParams, type RegistrationRoutesOptions } from "./shared.ts";

export const ensembleBodySchema = ensembleSpecSchema.extend({
  tags: z.array(z.string().max(64)).max(16).optional(),
  actor: z.string().min(1).max(128).optional(),
});

/**
 * Registers an ensemble of the model's versions as a new version (staging, like any new version):
 * `mlwatch models ensemble` sends this while serve owns the store. Members with different features,
 * classes or labels are refused naming the member.
 */
export const ensembleRegistrationRoutes: FastifyPluginAsync<RegistrationRoutesOptions> = async (app, deps) => {
  app.addHook("onRequest", bearerGuard(deps.adminToken));
  app.post<{ Params: ModelParams; Body: unknown }>(
    "/v1/admin/models/:name/ensembles",
    {
      config: documentedBody(ensembleBodySchema, [{ method: "mean", members: [{ version: "1" }, { version: "2" }], actor: "ada" }]),
      schema: {
        operationId: "registerEnsemble",
        tags: ["admin"],
        summary: "Register an ensemble of registered versions (mean, weighted mean or majority vote of their probabilities) as a new version",
        security: requires("adminToken"),
        params: modelParams,
        response: { 201: answer("Registered", z.object({ version: modelVersionSchema })), ...errorResponses(400, 401, 403, 413, 415, 500) },
      },
    },
    async (req, reply) => {
      const parsed = ensembleBodySchema.safeParse(req.body);
      if (!parsed.success) return reply.code(400).send(invalidBody(parsed.error));
      const { tags, actor, ...spec } = parsed.data;
      try {
        const version = await registerEnsemble(deps.store, deps.modelDir, { model: req.params.name, spec, tags, actor });
        return reply.code(201).send({ version });
      } catch (err) {
        if (err instanceof EnsembleError) return reply.code(400).send({ error: "invalid_ensemble", field: `body.${err.field}`, reason: err.message });
        throw err;
      }
    },
  );
};
