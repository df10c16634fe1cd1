import { nowMicros } from "./clock.ts";
import { addColumns, createDatabase, createTable, type DdlContext } from "./ddl.ts";
import type { Store } from "./client.ts";
import { incidentsTable } from "./incidents-table.ts";
import { jobsTable } from "./jobs-table.ts";
import { proposalsTable, SUPERSEDED_BY_COLUMN } from "./proposals-table.ts";
import { referenceRowsTable } from "./reference-table.ts";
import { rolloutPlansTable } from "./rollout-plans-table.ts";
import {
  baselinesTable,
  deploymentsTable,
  labelsTable,
  modelVersionsTable,
  predictionServingColumns,
  predictionsTable,
  schemaMigrationsTable,
} from "./tables.ts";

export interface Migration {
  version: number;
  name: string;
  statements: (ctx: DdlContext) => string[];
}

/** Append only: a released migration is never edited, a change is a new entry. */
export const migrations: Migration[] = [
  {
    version: 1,
    name: "log store: predictions, labels, deployments, registry, baselines",
    statements: (ctx) =>
      [predictionsTable, labelsTable, deploymentsTable, modelVersionsTable, baselinesTable].flatMap((t) =>
        createTable(ctx, t),
      ),
  },
  {
    version: 2,
    name: "proposals: actions awaiting a person's approval",
    statements: (ctx) => createTable(ctx, proposalsTable),
  },
  {
    version: 3,
    name: "reference_rows (a bounded sample of each version's training data) and rollout_plans",
    statements: (ctx) => [referenceRowsTable, rolloutPlansTable].flatMap((t) => createTable(ctx, t)),
  },
  {
    version: 4,
    name: "incidents: each agent run's record, written as it runs",
    statements: (ctx) => createTable(ctx, incidentsTable),
  },
  {
    version: 5,
    name: "predictions: fallback, cached, job_id; jobs: batch scoring jobs",
    statements: (ctx) => [...addColumns(ctx, predictionsTable, predictionServingColumns), ...createTable(ctx, jobsTable)],
  },
  {
    version: 6,
    name: "proposals.superseded_by: the proposal a person's edit replaced one with",
    statements: (ctx) => addColumns(ctx, proposalsTable, SUPERSEDED_BY_COLUMN),
  },
];

export interface MigrationReport {
  applied: number[];
  alreadyApplied: number[];
}

/** Applies what is missing, in order; running it again changes nothing. */
export async function migrate(store: Store): Promise<MigrationReport> {
  const ctx = store.ddlContext;
  await store.command(createDatabase(ctx));
  for (const sql of createTable(ctx, schemaMigrationsTable)) await store.command(sql);
  const done = new Set(await appliedVersions(store));
  const report: MigrationReport = { applied: [], alreadyApplied: [] };
  for (const m of migrations) {
    if (done.has(m.version)) {
      report.alreadyApplied.push(m.version);
      continue;
    }
    for (const sql of m.statements(ctx)) await store.command(sql);
    await store.insert(schemaMigrationsTable.name, [{ version: m.version, name: m.name, applied_at: nowMicros() }]);
    report.applied.push(m.version);
  }
  return report;
}

export async function appliedVersions(store: Store): Promise<number[]> {
  const rows = await store.rows<{ version: number }>(
    `SELECT DISTINCT version FROM ${store.table(schemaMigrationsTable.name)} ORDER BY version`,
  );
  return rows.map((r) => Number(r.version));
}
