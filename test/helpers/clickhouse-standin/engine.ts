import { createRequire } from "node:module";
import path from "node:path";

/**
 * The stand-in's one chDB connection. Statements run one at a time, which gives each its own
 * settings (a real server scopes settings to the request; chDB keeps them on the connection) and
 * keeps chDB's parameter binding, which is not safe to run concurrently, correct.
 *
 * Parameters are bound by the engine from the exact strings the client put in `param_*`: chDB's
 * public `queryBindAsync` formats JS values itself (it would escape the client's escapes a second
 * time), so the stand-in calls the addon entry that takes already formatted values, as a server's
 * HTTP handler hands them to its binder.
 */
export interface Statement {
  sql: string;
  /** Output format when the SQL has no FORMAT clause (HTTP's `default_format`). */
  format: string;
  params: Record<string, string>;
  settings: Record<string, string>;
  database: string;
  /** INSERT data sent as the request body, beside the INSERT … FORMAT text. */
  insertData?: { body: Buffer; lineDelimited: boolean };
}

export interface Outcome {
  bytes: Buffer;
  readRows: number;
  readBytes: number;
  writtenRows: number;
  writtenBytes: number;
  elapsedNs: number;
}

export interface Engine {
  run(statement: Statement): Promise<Outcome>;
  /** Waits for the statement running, then releases the connection. */
  close(): Promise<void>;
}

interface NativeResult {
  bytes: Uint8Array;
  elapsed: number;
  rowsRead?: number;
  bytesRead?: number;
  rowsWritten?: number;
  bytesWritten?: number;
}

interface Native {
  QueryAsyncConnection(connection: unknown, sql: string, format: string, params?: Record<string, string>): Promise<NativeResult>;
  InsertRawAsyncConnection(connection: unknown, prefix: string, data: Buffer, countLines: boolean): Promise<NativeResult>;
}

interface ChdbSession {
  connection: unknown;
  close(): void;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function openEngine(dir: string): Engine {
  const require = createRequire(import.meta.url);
  const chdbDir = path.dirname(require.resolve("chdb"));
  const { Session } = require(chdbDir) as { Session: new (dir: string) => ChdbSession };
  const native = (require(path.join(chdbDir, "dist/loader.js")) as { loadNative(): Native }).loadNative();
  const session = new Session(dir);
  const state: ConnectionState = { database: "default", settings: new Map() };
  let tail: Promise<unknown> = Promise.resolve();

  // A refused prelude (an unknown setting, a bad value) may have applied part of itself: every name
  // it touched goes back to its default one by one, each refusal ignored, and the next statement
  // starts from a clean connection.
  const forget = async (names: Set<string>) => {
    for (const name of names) {
      await native.QueryAsyncConnection(session.connection, `SET ${name} = DEFAULT`, "TabSeparated").catch(() => undefined);
    }
    state.database = "";
    state.settings = new Map();
  };

  const exec = async (s: Statement): Promise<Outcome> => {
    const prelude = preludeFor(s, state);
    if (prelude) {
      try {
        await native.QueryAsyncConnection(session.connection, prelude, "TabSeparated");
      } catch (err) {
        await forget(new Set([...state.settings.keys(), ...Object.keys(s.settings)]));
        throw err;
      }
      state.database = s.database;
      state.settings = new Map(Object.entries(s.settings));
    }
    const r = s.insertData
      ? await native.InsertRawAsyncConnection(session.connection, s.sql, s.insertData.body, s.insertData.lineDelimited)
      : await native.QueryAsyncConnection(session.connection, s.sql, s.format, Object.keys(s.params).length ? s.params : undefined);
    return {
      bytes: Buffer.from(r.bytes ?? new Uint8Array(0)),
      readRows: r.rowsRead ?? r.rowsWritten ?? 0,
      readBytes: r.bytesRead ?? r.bytesWritten ?? 0,
      writtenRows: r.rowsWritten ?? 0,
      writtenBytes: r.bytesWritten ?? 0,
      elapsedNs: Math.round(r.elapsed * 1e9),
    };
  };

  return {
    run(statement) {
      const result = tail.then(() => exec(statement));
      tail = result.catch(() => undefined);
      return result;
    },
    async close() {
      await tail;
      session.close();
    },
  };
}

/** What earlier statements left on the connection. */
interface ConnectionState {
  database: string;
  settings: Map<string, string>;
}

/**
 * `USE` and `SET` that give the connection this statement's database and settings, every setting
 * an earlier statement left there put back to its default; empty when nothing changes.
 */
function preludeFor(s: Statement, state: ConnectionState): string {
  const parts: string[] = [];
  for (const name of state.settings.keys()) if (!(name in s.settings)) parts.push(`${name} = DEFAULT`);
  for (const [name, value] of Object.entries(s.settings)) {
    if (!IDENTIFIER.test(name)) throw new StatementError(115, "UNKNOWN_SETTING", `Setting name ${JSON.stringify(name)} is not an identifier`);
    if (state.settings.get(name) !== value) parts.push(`${name} = ${literal(value)}`);
  }
  if (!IDENTIFIER.test(s.database)) throw new StatementError(81, "UNKNOWN_DATABASE", `Database name ${JSON.stringify(s.database)} is not an identifier`);
  return [s.database === state.database ? "" : `USE ${s.database}`, parts.length ? `SET ${parts.join(", ")}` : ""].filter(Boolean).join("; ");
}

function literal(value: string): string {
  return /^-?\d+(\.\d+)?$/.test(value) ? value : `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** An error the stand-in raises itself, in ClickHouse's shape. */
export class StatementError extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    detail: string,
  ) {
    super(`Code: ${code}. DB::Exception: ${detail}. (${type})`);
  }
}
