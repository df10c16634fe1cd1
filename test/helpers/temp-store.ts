import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig, type Config } from "../../config.ts";
import { openStore, type Store } from "../../store/client.ts";
import { migrate } from "../../store/migrations.ts";
import { startStandIn, type StandIn } from "./clickhouse-standin.ts";

export interface TempStore {
  config: Config;
  store: Store;
  dir: string;
  cleanup(): Promise<void>;
}

/** For a store a service will listen on: any free port, loopback only, so test files can run side by side. */
export const LOOPBACK = { MLWATCH_PORT: "0", MLWATCH_HOST: "127.0.0.1" };

/**
 * A migrated embedded store in a fresh directory: one per test file, since chdb locks its directory.
 * With MLWATCH_TEST_STANDIN=1 in the environment it is a server-mode store instead, on a ClickHouse
 * HTTP stand-in of its own, so any store test can be run over the HTTP interface.
 */
export async function tempStore(env: Record<string, string> = {}): Promise<TempStore> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mlwatch-test-"));
  const standIn: StandIn | undefined = process.env.MLWATCH_TEST_STANDIN === "1" ? await startStandIn() : undefined;
  const config = loadConfig({ MLWATCH_DATA_DIR: dir, ...(standIn ? { CLICKHOUSE_URL: standIn.url } : {}), ...env });
  const store = await openStore(config);
  await migrate(store);
  return {
    config,
    store,
    dir,
    async cleanup() {
      await store.close();
      await standIn?.stop("SIGTERM");
      if (standIn) fs.rmSync(standIn.dir, { recursive: true, force: true });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
