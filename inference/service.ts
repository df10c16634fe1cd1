import { buildInferenceApp, type InferenceApp, type InferenceAppOptions } from "./app.ts";

export interface InferenceService extends InferenceApp {
  /** Base URL once listening. */
  url: string;
}

export type ServiceOptions = InferenceAppOptions;

/** Builds the inference app (app.ts), listens, then starts the batch job runner. */
export async function startInferenceService(options: ServiceOptions): Promise<InferenceService> {
  const built = await buildInferenceApp(options);
  const { host, port, adminToken } = options.config.inference;
  const url = await built.app.listen({ host, port });
  await built.jobs.start();
  if (!adminToken) built.app.log.warn({ host }, "MLWATCH_ADMIN_TOKEN is not set: listening on loopback only");
  return { ...built, url };
}
