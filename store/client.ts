import fs from "node:fs";
import { Readable } from "node:stream";
import { createClient, type ClickHouseClient, type ClickHouseSettings } from "@clickhouse/client";
import { createChdbConnection } from "chdb/connection";
import type { Config } from "../config.ts";
import type { DdlContext } from "./ddl.ts";

export type QueryParams = Record<string, unknown>;

/**
 * The log store, always reached through @clickhouse/client: embedded chdb or a ClickHouse server,
 * chosen once here from configuration. Callers never learn which.
 */
export interface Store {
  readonly mode: "embedded" | "server";
  readonly database: string;
  readonly ddlContext: DdlContext;
  /** Fully qualified name of one of our tables. */
  table(name: string): string;
  rows<T>(query: string, params?: QueryParams): Promise<T[]>;
  insert(table: string, values: readonly object[]): Promise<void>;
  /** Inserts bytes that already are JSONEachRow (one object per line) without parsing them here. */
  insertJsonLines(table: string, body: Buffer): Promise<void>;
  command(query: string, params?: QueryParams): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export class StoreError extends Error {}

/** Another process holds the embedded store (chdb admits one per data directory). */
export class StoreLockedError extends StoreError {}

/** chdb permits one engine per process; every caller in the process shares it. */
let embedded: { path: string; store: Store } | undefined;

export async function openStore(config: Config): Promise<Store> {
  const ch = config.clickhouse;
  if (ch.mode === "server") return openServer(config);
  if (embedded) {
    if (embedded.path !== ch.path) {
      throw new StoreError(`embedded store already open at ${embedded.path}; one data directory per process (asked for ${ch.path})`);
    }
    return embedded.store;
  }
  const store = openEmbedded(config, ch.path);
  embedded = { path: ch.path, store };
  return store;
}

function openEmbedded(config: Config, dir: string): Store {
  fs.mkdirSync(dir, { recursive: true });
  let connection;
  try {
    connection = createChdbConnection({ path: dir });
  } catch (err) {
    throw explainOpenError(err, dir);
  }
  const client = createClient({ connection, clickhouse_settings: settings(config) } as Parameters<typeof createClient>[0]);
  const raw = connection.chdb;
  const rawInsert: RawInsert = async (table, format, values, columns) => {
    await raw.rawInsert({ table, format, values, settings: INSERT_SETTINGS, ...(columns ? { columns } : {}) });
  };
  return wrap(client, "embedded", config, () => {
    embedded = undefined;
  }, rawInsert);
}

async function openServer(config: Config): Promise<Store> {
  const ch = config.clickhouse;
  if (ch.mode !== "server") throw new StoreError("not a server configuration");
  const client = createClient({
    url: ch.url,
    username: ch.user,
    password: ch.password,
    request_timeout: config.queryTimeoutSeconds * 1000 + 5_000,
    clickhouse_settings: settings(config),
  });
  const store = wrap(client, "server", config, () => undefined);
  const alive = await client.ping();
  if (!alive.success) {
    await client.close();
    throw new StoreError(`cannot reach ClickHouse at ${redact(ch.url)} (CLICKHOUSE_URL): ${alive.error.message}`);
  }
  return store;
}

function settings(config: Config) {
  return {
    // chdb and the server must agree on how 64-bit integers look in JSON.
    output_format_json_quote_64bit_integers: 0,
    max_execution_time: config.queryTimeoutSeconds,
  } as const;
}

/** One parsing thread per insert: background logging must not take both cores from serving. */
const INSERT_SETTINGS = { input_format_parallel_parsing: 0, max_insert_threads: "1" } as const satisfies ClickHouseSettings;

/**
 * Embedded mode's insert: chDB's raw entry hands the bytes to the engine's parser zero-copy on a
 * native thread. @clickhouse/client's insert over the chDB connection instead glues the body onto
 * the SQL text and runs it through the SQL parser on a 2-core box — measured about half as fast.
 */
type RawInsert = (table: string, format: "JSONEachRow" | "JSONCompactEachRow", values: Buffer, columns?: string[]) => Promise<void>;

function wrap(client: ClickHouseClient, mode: Store["mode"], config: Config, onClose: () => void, rawInsert?: RawInsert): Store {
  const ch = config.clickhouse;
  const database = ch.database;
  return {
    mode,
    database,
    ddlContext: { database, cluster: ch.cluster, ttlDays: config.logTtlDays },
    table: (name) => `${database}.${name}`,
    async rows<T>(query: string, params?: QueryParams) {
      const result = await client.query({ query, query_params: params, format: "JSONEachRow" });
      return result.json<T>();
    },
    async insert(table, values) {
      const first = values[0];
      if (!first) return;
      // Rows as arrays under one column list: ClickHouse parses JSONCompactEachRow about a quarter
      // faster than keyed objects, and in embedded mode that parsing shares the cores with serving.
      const columns = Object.keys(first);
      const rows = values.map((v) => columns.map((c) => (v as Record<string, unknown>)[c]));
      if (rawInsert) {
        let body = "";
        for (const r of rows) body += JSON.stringify(r) + "\n";
        return rawInsert(`${database}.${table}`, "JSONCompactEachRow", Buffer.from(body), columns);
      }
      await client.insert({
        table: `${database}.${table}`,
        values: rows,
        columns: columns as [string, ...string[]],
        format: "JSONCompactEachRow",
        clickhouse_settings: INSERT_SETTINGS,
      });
    },
    async insertJsonLines(table, body) {
      if (body.length === 0) return;
      if (rawInsert) return rawInsert(`${database}.${table}`, "JSONEachRow", body);
      const result = await client.exec({
        query: `INSERT INTO ${database}.${table} FORMAT JSONEachRow`,
        values: Readable.from([body]),
        clickhouse_settings: INSERT_SETTINGS,
      });
      // The response body must be consumed or the connection is never released.
      for await (const _ of result.stream) void _;
    },
    async command(query, params) {
      await client.command({ query, query_params: params });
    },
    async ping() {
      try {
        return (await client.ping()).success;
      } catch {
        return false;
      }
    },
    async close() {
      onClose();
      await client.close();
    },
  };
}

function explainOpenError(err: unknown, dir: string): StoreError {
  const message = err instanceof Error ? err.message : String(err);
  // chdb reports a held lock as "Cannot lock file" or, in newer builds, only as a failed connection.
  if (/lock|Failed to create connection/i.test(message)) {
    return new StoreLockedError(
      `the embedded store at ${dir} is in use by another process; reach that process over HTTP or stop it (${message.split("\n")[0]})`,
    );
  }
  return new StoreError(`cannot open the embedded store at ${dir}: ${message.split("\n")[0]}`);
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}
