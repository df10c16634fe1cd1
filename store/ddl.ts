/**
 * DDL text for the log store. Pure: the same builder emits single-node DDL (embedded chdb or one
 * server) and cluster DDL (ON CLUSTER, Replicated engines, a Distributed table in front), so the
 * cluster form can be tested as text where no cluster runs.
 *
 * Identifiers and numbers here come from validated configuration, never from requests; that is the
 * only reason they may be interpolated. Values always travel as query parameters.
 */
export interface DdlContext {
  database: string;
  cluster?: string | undefined;
  ttlDays: number;
}

export interface TableSpec {
  name: string;
  columns: string;
  engine: "MergeTree" | "ReplacingMergeTree";
  /** Version column for ReplacingMergeTree: the row with the highest value wins. */
  versionColumn?: string;
  orderBy: string;
  partitionBy?: string;
  /** Expression that yields a DateTime for TTL; omitted means rows are kept. */
  ttlColumn?: string;
  indexes?: string[];
  /** Distributed sharding key: rows that must deduplicate together land on one shard. */
  shardKey: string;
}

export function onCluster(ctx: DdlContext): string {
  return ctx.cluster ? ` ON CLUSTER ${ctx.cluster}` : "";
}

export function createDatabase(ctx: DdlContext): string {
  return `CREATE DATABASE IF NOT EXISTS ${ctx.database}${onCluster(ctx)}`;
}

/** One table on a single node; a replicated local table plus a Distributed table on a cluster. */
export function createTable(ctx: DdlContext, spec: TableSpec): string[] {
  if (!ctx.cluster) return [localTable(ctx, spec, spec.name, engineClause(spec))];
  const local = `${spec.name}_local`;
  const zkPath = `'/clickhouse/tables/{shard}/${ctx.database}/${local}', '{replica}'`;
  const replicated = `Replicated${spec.engine}(${zkPath}${spec.versionColumn ? `, ${spec.versionColumn}` : ""})`;
  return [
    localTable(ctx, spec, local, replicated),
    `CREATE TABLE IF NOT EXISTS ${ctx.database}.${spec.name}${onCluster(ctx)} AS ${ctx.database}.${local} ` +
      `ENGINE = Distributed(${ctx.cluster}, ${ctx.database}, ${local}, ${spec.shardKey})`,
  ];
}

/** A column added to a table made before it: the local table, and the Distributed one in front of it on a cluster. */
export function addColumn(ctx: DdlContext, spec: TableSpec, column: string): string[] {
  const alter = (name: string) => `ALTER TABLE ${ctx.database}.${name}${onCluster(ctx)} ADD COLUMN IF NOT EXISTS ${column}`;
  return ctx.cluster ? [alter(`${spec.name}_local`), alter(spec.name)] : [alter(spec.name)];
}

function engineClause(spec: TableSpec): string {
  return `${spec.engine}(${spec.versionColumn ?? ""})`;
}

function localTable(ctx: DdlContext, spec: TableSpec, name: string, engine: string): string {
  const body = [spec.columns.trim(), ...(spec.indexes ?? [])].join(",\n  ");
  const clauses = [
    `ENGINE = ${engine}`,
    spec.partitionBy ? `PARTITION BY ${spec.partitionBy}` : "",
    `ORDER BY ${spec.orderBy}`,
    spec.ttlColumn && ctx.ttlDays > 0 ? `TTL ${spec.ttlColumn} + INTERVAL ${ctx.ttlDays} DAY` : "",
  ].filter(Boolean);
  return `CREATE TABLE IF NOT EXISTS ${ctx.database}.${name}${onCluster(ctx)} (\n  ${body}\n) ${clauses.join(" ")}`;
}
