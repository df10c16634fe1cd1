import fs from "node:fs";
import { Readable } from "node:stream";
import { createClient, ClickHouseError, ClickHouseLogLevel, type ClickHouseClient } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStandIn, type StandIn } from "./helpers/clickhouse-standin.ts";

// The stand-in checked against @clickhouse/client's own expectations: what it sends (params,
// settings, bodies, compression) and what it parses (summary, query id, errors with their code).

let standIn: StandIn;
let client: ClickHouseClient;
// The refusals below are expected; the client would log each as an error.
const quiet = { log: { level: ClickHouseLogLevel.OFF } };

beforeAll(async () => {
  standIn = await startStandIn({ password: "s3cret" });
  client = createClient({ url: standIn.url, username: "default", password: "s3cret", ...quiet });
  await client.command({ query: "CREATE DATABASE IF NOT EXISTS t" });
  await client.command({ query: "CREATE TABLE t.events (id UInt64, name String, tags Array(String), score Nullable(Float64)) ENGINE = MergeTree ORDER BY id" });
});

afterAll(async () => {
  await client?.close();
  await standIn?.stop("SIGTERM");
  if (standIn) fs.rmSync(standIn.dir, { recursive: true, force: true });
});

describe("ClickHouse HTTP stand-in through @clickhouse/client", () => {
  it("answers ping on /ping and as a SELECT", async () => {
    expect((await client.ping()).success).toBe(true);
    expect((await client.ping({ select: true })).success).toBe(true);
  });

  it("binds param_* in the engine from the client's own formatting, quotes and escapes included", async () => {
    const awkward = "it's a \\ back\tslash\nand newline";
    const rs = await client.query({
      query: "SELECT {s:String} AS s, {tags:Array(String)} AS tags, {n:UInt64} + 1 AS n, {missing:Nullable(Int32)} AS missing",
      query_params: { s: awkward, tags: ["a'b", "c\\d"], n: 41, missing: null },
      format: "JSONEachRow",
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    expect(await rs.json()).toEqual([{ s: awkward, tags: ["a'b", "c\\d"], n: 42, missing: null }]);
  });

  it("stores an insert's body, JSONEachRow and JSONCompactEachRow with columns, and reports the summary", async () => {
    const a = await client.insert({
      table: "t.events",
      values: [
        { id: 1, name: "one", tags: ["x"], score: 0.5 },
        { id: 2, name: "two", tags: [], score: null },
      ],
      format: "JSONEachRow",
    });
    expect(a.summary?.written_rows).toBe("2");
    const b = await client.insert({ table: "t.events", values: [[3, "three"]], columns: ["id", "name"], format: "JSONCompactEachRow" });
    expect(b.summary?.written_rows).toBe("1");
    const exec = await client.exec({ query: "INSERT INTO t.events FORMAT JSONEachRow", values: Readable.from([Buffer.from('{"id":4,"name":"four","tags":["y"],"score":1}\n')]) });
    for await (const _ of exec.stream) void _;
    const rs = await client.query({ query: "SELECT id, name, tags, score FROM t.events ORDER BY id", format: "JSONEachRow", clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } });
    expect(await rs.json()).toEqual([
      { id: 1, name: "one", tags: ["x"], score: 0.5 },
      { id: 2, name: "two", tags: [], score: null },
      { id: 3, name: "three", tags: [], score: null },
      { id: 4, name: "four", tags: ["y"], score: 1 },
    ]);
  });

  it("gives each request its own settings: one request's setting does not reach the next", async () => {
    const read = async (settings: Record<string, number>) => {
      const rs = await client.query({ query: "SELECT getSetting('max_execution_time') AS m", format: "JSONEachRow", clickhouse_settings: settings });
      return ((await rs.json()) as { m: number }[])[0]!.m;
    };
    expect(await read({ max_execution_time: 7 })).toBe(7);
    expect(await read({})).toBe(0);
  });

  it("echoes the query id and answers in the requested format", async () => {
    const rs = await client.query({ query: "SELECT 1 AS one", format: "JSONEachRow", query_id: "standin-q-1" });
    expect(rs.query_id).toBe("standin-q-1");
    expect(rs.response_headers["x-clickhouse-query-id"]).toBe("standin-q-1");
    expect(rs.response_headers["x-clickhouse-format"]).toBe("JSONEachRow");
    await rs.close();
  });

  it("sends a progress header when asked, with the final counters", async () => {
    const rs = await client.query({ query: "SELECT number FROM system.numbers LIMIT 1000", format: "JSONEachRow", clickhouse_settings: { send_progress_in_http_headers: 1 } });
    const progress = JSON.parse(String(rs.response_headers["x-clickhouse-progress"])) as { read_rows: string };
    expect(Number(progress.read_rows)).toBeGreaterThanOrEqual(1000);
    expect(await rs.json()).toHaveLength(1000);
  });

  it("compresses both ways when the client asks", async () => {
    const gz = createClient({ url: standIn.url, password: "s3cret", compression: { request: true, response: true }, ...quiet });
    try {
      await gz.insert({ table: "t.events", values: [{ id: 5, name: "five", tags: [], score: null }], format: "JSONEachRow" });
      const rs = await gz.query({ query: "SELECT name FROM t.events WHERE id = {id:UInt64}", query_params: { id: 5 }, format: "JSONEachRow" });
      expect(rs.response_headers["content-encoding"]).toBe("gzip");
      expect(await rs.json()).toEqual([{ name: "five" }]);
    } finally {
      await gz.close();
    }
  });

  it("answers errors as ClickHouse does, so the client parses code and type", async () => {
    const unknownTable = await client.query({ query: "SELECT * FROM t.nope", format: "JSONEachRow" }).catch((e: unknown) => e);
    expect(unknownTable).toBeInstanceOf(ClickHouseError);
    expect(unknownTable).toMatchObject({ code: "60", type: "UNKNOWN_TABLE" });
    const syntax = await client.command({ query: "SELEC 1" }).catch((e: unknown) => e);
    expect(syntax).toMatchObject({ code: "62", type: "SYNTAX_ERROR" });
    const badRow = await client.insert({ table: "t.events", values: [{ id: "not a number", name: "x" }], format: "JSONEachRow" }).catch((e: unknown) => e);
    expect(badRow).toBeInstanceOf(ClickHouseError);
    expect((badRow as ClickHouseError).message).toMatch(/Cannot parse/);
  });

  it("puts the code in a header and picks the HTTP status from it", async () => {
    const res = await fetch(`${standIn.url}/?query=${encodeURIComponent("SELECT * FROM t.nope")}`, { headers: { authorization: `Basic ${Buffer.from("default:s3cret").toString("base64")}` } });
    expect(res.status).toBe(404);
    expect(res.headers.get("x-clickhouse-exception-code")).toBe("60");
    expect(await res.text()).toMatch(/^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\)/);
  });

  it("refuses a wrong password, and what it does not emulate, with the codes a server would send", async () => {
    const wrong = createClient({ url: standIn.url, password: "wrong", ...quiet });
    try {
      const err = await wrong.query({ query: "SELECT 1", format: "JSONEachRow" }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "516", type: "AUTHENTICATION_FAILED" });
    } finally {
      await wrong.close();
    }
    const session = await client.query({ query: "SELECT 1", format: "JSONEachRow", session_id: "s1" }).catch((e: unknown) => e);
    expect(session).toMatchObject({ code: "48", type: "NOT_IMPLEMENTED" });
    const asyncInsert = await client.insert({ table: "t.events", values: [{ id: 9 }], format: "JSONEachRow", clickhouse_settings: { async_insert: 1 } }).catch((e: unknown) => e);
    expect(asyncInsert).toMatchObject({ code: "48", type: "NOT_IMPLEMENTED" });
  });
});
