import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { answer, documentedBody, errorResponses, requires } from "../../http/openapi.ts";
import { RegistryError, registerVersion } from "../../models/registry.ts";
import { versionFromWire, versionWireSchema } from "../../models/version-wire.ts";
import { bearerGuard } from "../auth.ts";
import { invalidBody } from "../http-errors.ts";
import example from "./new-version.example.json" with { type: "json" };
import { modelParams, modelVersionSchema, type ModelParams, type RegistrationRoutesOptions } from "./shared.ts";

/** An artifact, its baseline and a reference sample of 20,000 rows run to tens of megabytes. */
const BODY_LIMIT_BYTES = 256 * 1024 * 1024;

/**
 * Registers a version trained or imported elsewhere while this process owns the store: the one
 * way `mlwatch train` and `mlwatch models import` add a version without stopping `serve` (embedded
 * mode admits one process per store). Admin token, like every other admin route.
 */
export const versionRegistrationRoutes: FastifyPluginAsync<RegistrationRoutesOptions> = async (app, deps) => {
  app.addHook("onRequest", bearerGuard(deps.adminToken));
  app.post<{ Params: ModelParams; Body: unknown }>(
    "/v1/admin/models/:name/versions",
    {
      bodyLimit: BODY_LIMIT_BYTES,
      // The example: a logistic model of the demo data set trained on 40 rows (models/version-wire.ts versionToWire).
      config: documentedBody(versionWireSchema, [example]),
      schema: {
        operationId: "registerVersion",
        tags: ["admin"],
        summary: "Register a new version (what mlwatch train and models import send while serve owns the store)",
        security: requires("adminToken"),
        params: modelParams,
        response: { 201: answer("Registered", z.object({ version: modelVersionSchema })), ...errorResponses(400, 401, 403, 413, 415, 500) },
      },
    },
    async (req, reply) => {
      const parsed = versionWireSchema.safeParse(req.body);
      if (!parsed.success) return reply.code(400).send(invalidBody(parsed.error));
      try {
        const version = await registerVersion(deps.store, deps.modelDir, versionFromWire(req.params.name, parsed.data));
        return reply.code(201).send({ version });
      } catch (err) {
        if (err instanceof RegistryError || (err as { name?: string }).name === "ZodError") {
          return reply.code(400).send({ error: "invalid_request", field: "body", reason: (err as Error).message.split("\n")[0] });
        }
        throw err;
      }
    },
  );
};
