import { randomUUID } from "node:crypto";
import http from "node:http";
import zlib from "node:zlib";
import { StatementError, type Engine, type Outcome, type Statement } from "./engine.ts";

/**
 * The part of ClickHouse's HTTP interface that @clickhouse/client 1.x speaks, over one chDB
 * engine: `/ping`; the query in the URL's `query=` and/or the body; `param_*` bound by the
 * engine; every other URL parameter a setting; `default_format`; INSERT data as the body; gzip
 * both ways; `X-ClickHouse-*` headers; errors as ClickHouse sends them.
 *
 * Not emulated, refused with NOT_IMPLEMENTED so a test cannot pass by accident: sessions
 * (`session_id`), multipart parameters, async inserts. Authentication is one fixed user.
 */
export interface Credentials {
  user: string;
  password: string;
}

/** URL parameters that are part of the HTTP protocol, not settings. */
const PROTOCOL = new Set(["query", "query_id", "database", "default_format", "user", "password", "quota_key", "role", "compress", "decompress", "session_timeout", "session_check"]);
/** Settings only the HTTP layer acts on: ours buffers every answer, as `wait_end_of_query=1` does. */
const HTTP_LAYER = new Set([
  "enable_http_compression",
  "wait_end_of_query",
  "send_progress_in_http_headers",
  "http_headers_progress_interval_ms",
  "http_response_buffer_size",
  "http_zlib_compression_level",
]);
/** Formats whose rows never contain a raw newline, so the engine may count and split them by line. */
const LINE_DELIMITED = new Set(["JSONEachRow", "JSONCompactEachRow", "TabSeparated", "TSV", "JSONStringsEachRow", "JSONCompactStringsEachRow"]);
const INSERT = /^\s*INSERT\s+INTO\s[\s\S]*?\bFORMAT\s+([A-Za-z]+)\s*$/i;
const TRAILING_FORMAT = /\bFORMAT\s+([A-Za-z]+)\s*;?\s*$/i;

export function createHandler(engine: Engine, credentials: Credentials): http.RequestListener {
  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const queryId = url.searchParams.get("query_id") || randomUUID();
    handle(engine, credentials, url, queryId, req, res).catch((err: unknown) => sendError(res, queryId, err));
  };
}

async function handle(engine: Engine, credentials: Credentials, url: URL, queryId: string, req: http.IncomingMessage, res: http.ServerResponse) {
  const body = await readBody(req);
  if (url.pathname === "/ping") return void res.writeHead(200, { "content-type": "text/plain; charset=UTF-8" }).end("Ok.\n");
  if (url.pathname !== "/") throw new StatementError(48, "NOT_IMPLEMENTED", `The stand-in serves / and /ping only, not ${url.pathname}`);
  authenticate(req, url, credentials);
  const statement = statementOf(url, req, body);
  const outcome = await engine.run(statement);
  const format = TRAILING_FORMAT.exec(statement.sql)?.[1] ?? statement.format;
  const gzip = url.searchParams.get("enable_http_compression") === "1" && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
  const headers: http.OutgoingHttpHeaders = {
    "content-type": contentType(format),
    "x-clickhouse-query-id": queryId,
    "x-clickhouse-format": format,
    "x-clickhouse-timezone": "UTC",
    "x-clickhouse-summary": JSON.stringify(summary(outcome, statement.insertData !== undefined)),
    // The answer is computed before headers go out, so one progress header carries the final count.
    ...(url.searchParams.get("send_progress_in_http_headers") === "1" ? { "x-clickhouse-progress": JSON.stringify(counters(outcome)) } : {}),
    ...(gzip ? { "content-encoding": "gzip" } : {}),
  };
  res.writeHead(200, headers).end(gzip ? zlib.gzipSync(outcome.bytes) : outcome.bytes);
}

function statementOf(url: URL, req: http.IncomingMessage, body: Buffer): Statement {
  const p = url.searchParams;
  if (p.has("session_id")) throw new StatementError(48, "NOT_IMPLEMENTED", "The stand-in does not emulate HTTP sessions (session_id)");
  if (String(req.headers["content-type"] ?? "").startsWith("multipart/")) {
    throw new StatementError(48, "NOT_IMPLEMENTED", "The stand-in does not emulate multipart query parameters");
  }
  const params: Record<string, string> = {};
  const settings: Record<string, string> = {};
  for (const [key, value] of p) {
    if (key.startsWith("param_")) params[key.slice("param_".length)] = value;
    else if (!PROTOCOL.has(key) && !HTTP_LAYER.has(key)) settings[key] = value;
  }
  if (settings.async_insert === "1") throw new StatementError(48, "NOT_IMPLEMENTED", "The stand-in does not emulate asynchronous inserts (async_insert=1)");
  const base = { format: p.get("default_format") || "TabSeparated", params, settings, database: p.get("database") || "default" };
  const inUrl = p.get("query");
  // As the server does: with the query in the URL the body continues it — for an INSERT, its data.
  if (inUrl === null) return { ...base, sql: body.toString("utf8") };
  const insert = INSERT.exec(inUrl);
  if (insert && body.length > 0 && Object.keys(params).length === 0) {
    return { ...base, sql: inUrl, insertData: { body, lineDelimited: LINE_DELIMITED.has(insert[1]!) } };
  }
  return { ...base, sql: body.length > 0 ? `${inUrl}\n${body.toString("utf8")}` : inUrl };
}

function authenticate(req: http.IncomingMessage, url: URL, expected: Credentials) {
  const basic = /^Basic (.+)$/.exec(String(req.headers.authorization ?? ""))?.[1];
  const [user, password] = basic
    ? splitOnce(Buffer.from(basic, "base64").toString("utf8"), ":")
    : [String(req.headers["x-clickhouse-user"] ?? url.searchParams.get("user") ?? "default"), String(req.headers["x-clickhouse-key"] ?? url.searchParams.get("password") ?? "")];
  if (user !== expected.user || password !== expected.password) {
    throw new StatementError(516, "AUTHENTICATION_FAILED", `${user}: Authentication failed: password is incorrect, or there is no user with such name`);
  }
}

function splitOnce(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + 1)];
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const encoding = req.headers["content-encoding"];
  if (encoding === "gzip") return zlib.gunzipSync(raw);
  if (encoding !== undefined && encoding !== "identity") {
    throw new StatementError(48, "NOT_IMPLEMENTED", `The stand-in decompresses gzip request bodies only, not ${encoding}`);
  }
  return raw;
}

/** Counters as strings, the way the server writes them. */
function counters(o: Outcome): Record<string, string> {
  return {
    read_rows: String(o.readRows),
    read_bytes: String(o.readBytes),
    written_rows: String(o.writtenRows),
    written_bytes: String(o.writtenBytes),
    total_rows_to_read: "0",
    elapsed_ns: String(o.elapsedNs),
  };
}

/** `result_rows` of a SELECT is left out: the engine does not report it and the stand-in does not parse answers. */
function summary(o: Outcome, inserted: boolean): Record<string, string> {
  return inserted
    ? { ...counters(o), result_rows: String(o.writtenRows), result_bytes: String(o.writtenBytes) }
    : { ...counters(o), result_bytes: String(o.bytes.length) };
}

function contentType(format: string): string {
  if (/^JSON/i.test(format)) return "application/json; charset=UTF-8";
  if (/^(TabSeparated|TSV)/i.test(format)) return "text/tab-separated-values; charset=UTF-8";
  if (/^CSV/i.test(format)) return "text/csv; charset=UTF-8; header=absent";
  return "text/plain; charset=UTF-8";
}

/**
 * The server's error answer: the exception text as the body, its code in a header, and the HTTP
 * status ClickHouse's exceptionCodeToHTTPStatus gives that code (a subset: the codes a client is
 * likely to meet); any other error is a 500.
 */
function sendError(res: http.ServerResponse, queryId: string, err: unknown) {
  const message = err instanceof Error ? err.message : String(err);
  const parsed = /Code: (\d+)\. DB::Exception: [\s\S]*?\(([A-Z0-9_]+)\)/.exec(message);
  const code = parsed ? Number(parsed[1]) : 1002;
  const text = parsed ? message : `Code: 1002. DB::Exception: ${message}. (UNKNOWN_EXCEPTION)`;
  if (res.headersSent) return void res.destroy();
  res
    .writeHead(statusOf(parsed?.[2] ?? ""), {
      "content-type": "text/plain; charset=UTF-8",
      "x-clickhouse-exception-code": String(code),
      "x-clickhouse-query-id": queryId,
      ...(code === 516 ? { "www-authenticate": 'Basic realm="ClickHouse server HTTP API"' } : {}),
    })
    .end(`${text} (version stand-in)\n`);
}

const STATUS_BY_TYPE: Record<string, number> = {
  AUTHENTICATION_FAILED: 401,
  REQUIRED_PASSWORD: 401,
  UNKNOWN_TABLE: 404,
  UNKNOWN_FUNCTION: 404,
  UNKNOWN_IDENTIFIER: 404,
  UNKNOWN_TYPE: 404,
  UNKNOWN_STORAGE: 404,
  UNKNOWN_DATABASE: 404,
  UNKNOWN_SETTING: 404,
  UNKNOWN_AGGREGATE_FUNCTION: 404,
  UNKNOWN_FORMAT: 404,
  UNKNOWN_TYPE_OF_QUERY: 404,
  SYNTAX_ERROR: 400,
  CANNOT_PARSE_TEXT: 400,
  CANNOT_PARSE_ESCAPE_SEQUENCE: 400,
  CANNOT_PARSE_QUOTED_STRING: 400,
  CANNOT_PARSE_DATE: 400,
  CANNOT_PARSE_DATETIME: 400,
  CANNOT_PARSE_NUMBER: 400,
  CANNOT_PARSE_INPUT_ASSERTION_FAILED: 400,
  INCORRECT_DATA: 400,
  TYPE_MISMATCH: 400,
  UNKNOWN_QUERY_PARAMETER: 400,
  BAD_QUERY_PARAMETER: 400,
  QUERY_IS_TOO_LARGE: 413,
  NOT_IMPLEMENTED: 501,
};

function statusOf(type: string): number {
  return STATUS_BY_TYPE[type] ?? 500;
}
