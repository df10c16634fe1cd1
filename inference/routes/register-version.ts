import type { FastifyInstance } from "fastify";
import type { Store } from "../../store/client.ts";
import { RegistryError, registerVersion } from "../../models/registry.ts";
import { versionFromWire, versionWireSchema } from "../../models/version-wire.ts";
import { bearerGuard } from "../auth.ts";
import { invalidBody } from "../http-errors.ts";

/** An artifact, its baseline and a reference sample of 20,000 rows run to tens of megabytes. */
const BODY_LIMIT_BYTES = 256 * 1024 * 1024;

/**
 * Registers a version trained or imported elsewhere while this process owns the store: the one
 * way `mlwatch train` and `mlwatch models import` add a version without stopping `serve` (embedded
 * mode admits one process per store). Admin token, like every other admin route.
 */
export function registerVersionRoute(app: FastifyInstance, deps: { store: Store; modelDir: string; adminToken: string | undefined }): void {
  app.register(async (admin) => {
    admin.addHook("onRequest", bearerGuard(deps.adminToken));
    admin.post<{ Params: { name: string }; Body: unknown }>(
      "/v1/admin/models/:name/versions",
      {
        bodyLimit: BODY_LIMIT_BYTES,
        schema: { summary: "Register a new version (what mlwatch train and models import send while serve owns the store)", params: { type: "object", properties: { name: { type: "string", maxLength: 64 } }, required: ["name"] } },
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
  });
}
