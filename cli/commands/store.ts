import type { Command } from "../command.ts";
import { parse, printTable, subcommand } from "../command.ts";
import { withStore } from "../open-store.ts";
import { appliedVersions, migrations } from "../../store/migrations.ts";

const usage = `usage: mlwatch store migrate|info

  migrate   apply the log store's pending migrations (idempotent)
  info      where the store is, its migrations, and each table's rows and size`;

export const storeCommand: Command = {
  name: "store",
  summary: "migrate or describe the log store",
  usage,
  async run(argv) {
    const sub = subcommand(argv, ["migrate", "info"] as const);
    if (!sub) {
      console.log(usage);
      return;
    }
    parse(argv.slice(1), {});
    return sub === "migrate" ? migrateCommand() : info();
  },
};

async function migrateCommand(): Promise<void> {
  // withStore migrates on open; what is left is to say what is in place.
  await withStore(async (store) => {
    const applied = await appliedVersions(store);
    console.log(`migrations applied: ${applied.join(", ")} of ${migrations.length} (${store.mode} store, database ${store.database})`);
  });
}

async function info(): Promise<void> {
  await withStore(async (store, config) => {
    const where = config.clickhouse.mode === "embedded" ? config.clickhouse.path : config.clickhouse.url.replace(/\/\/[^@/]*@/, "//***@");
    console.log(`store: ${store.mode} at ${where}, database ${store.database}`);
    console.log(`migrations: ${(await appliedVersions(store)).join(", ")}`);
    const tables = await store.rows<{ table: string; rows: number; bytes: string }>(
      `SELECT name AS table, total_rows AS rows, formatReadableSize(total_bytes) AS bytes
       FROM system.tables WHERE database = {db:String} ORDER BY name`,
      { db: store.database },
    );
    printTable(tables);
  });
}
