import type { Store } from "../store/client.ts";
import type { Config } from "../config.ts";
import { registerVersion, type ModelVersion, type NewVersion } from "../models/registry.ts";
import { registerEnsemble, type NewEnsemble } from "../models/register-ensemble.ts";
import { versionToWire } from "../models/version-wire.ts";
import { StoreLockedError } from "../store/client.ts";
import { adminApi } from "./admin-api.ts";
import { CommandError } from "./command.ts";
import { withStore } from "./open-store.ts";

/**
 * Registers a trained or imported version in the store, or, when a running `mlwatch serve` owns the
 * embedded store, through its admin API (POST /v1/admin/models/:name/versions): adding a version
 * never needs serve stopped. `via` is serve's URL when it went that way.
 */
export function registerNewVersion(input: NewVersion): Promise<{ version: ModelVersion; via: string | null }> {
  return inStoreOrThroughServe((store, config) => registerVersion(store, config.modelDir, input), `/v1/admin/models/${encodeURIComponent(input.model)}/versions`, versionToWire(input));
}

/** An ensemble of registered versions, the same two ways (POST /v1/admin/models/:name/ensembles). */
export function registerNewEnsemble(input: NewEnsemble): Promise<{ version: ModelVersion; via: string | null }> {
  const { model, spec, ...rest } = input;
  return inStoreOrThroughServe((store, config) => registerEnsemble(store, config.modelDir, input), `/v1/admin/models/${encodeURIComponent(model)}/ensembles`, { ...spec, ...rest });
}

async function inStoreOrThroughServe(
  local: (store: Store, config: Config) => Promise<ModelVersion>,
  path: string,
  body: unknown,
): Promise<{ version: ModelVersion; via: string | null }> {
  try {
    return { version: await withStore(local), via: null };
  } catch (err) {
    if (!(err instanceof StoreLockedError)) throw err;
    const api = adminApi();
    try {
      const answer = (await api.post(path, body)) as { version: ModelVersion };
      return { version: answer.version, via: new URL(api.baseUrl).origin };
    } catch (viaServe) {
      throw new CommandError(`${err.message}; handing the version to mlwatch serve failed too: ${(viaServe as Error).message}`);
    }
  }
}

/** The suffix a command prints when the version went through serve. */
export function throughServe(via: string | null): string {
  return via ? ` (through mlwatch serve at ${via})` : "";
}
