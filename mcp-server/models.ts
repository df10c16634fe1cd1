import { listModels, listVersions, RegistryError } from "../models/registry.ts";
import type { Store } from "../store/client.ts";

/** Refuses a model the registry does not know, naming the ones it does. */
export async function assertKnownModel(store: Store, model: string): Promise<void> {
  if ((await listVersions(store, model)).length > 0) return;
  const known = (await listModels(store)).map((m) => m.model);
  throw new RegistryError(`unknown model '${model}'${known.length ? ` (known: ${known.join(", ")})` : " (no model is registered)"}`);
}
