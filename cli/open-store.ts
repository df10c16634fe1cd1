import { loadConfig, type Config } from "../config.ts";
import { openStore, type Store } from "../store/client.ts";
import { migrate } from "../store/migrations.ts";

/** Every CLI command that touches the store gets it migrated: migrations are idempotent and cheap. */
export async function withStore<T>(fn: (store: Store, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const store = await openStore(config);
  try {
    await migrate(store);
    return await fn(store, config);
  } finally {
    await store.close();
  }
}
