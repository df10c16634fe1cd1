import type { Store } from "../../store/client.ts";
import { nowMicros } from "../../store/clock.ts";
import { jobsTable, type JobRow, type JobStatus } from "../../store/jobs-table.ts";

const SELECT = (store: Store) => `
  SELECT * EXCEPT (created_at, updated_at), toUnixTimestamp64Micro(created_at) AS created_at, toUnixTimestamp64Micro(updated_at) AS updated_at
  FROM ${store.table(jobsTable.name)} FINAL`;

/** Writes the job's whole state; the store clock is strictly increasing in a process, so this write wins. */
export async function saveJob(store: Store, job: JobRow): Promise<JobRow> {
  const row = { ...job, updated_at: nowMicros() };
  await store.insert(jobsTable.name, [row]);
  return row;
}

export async function getJob(store: Store, jobId: string): Promise<JobRow | undefined> {
  const [row] = await store.rows<JobRow>(`${SELECT(store)} WHERE job_id = {jobId:String}`, { jobId });
  return row && fromStored(row);
}

/** Jobs of this owner a stopped service left queued or running, oldest first: what a restart resumes. */
export async function unfinishedJobs(store: Store, owner: string): Promise<JobRow[]> {
  const rows = await store.rows<JobRow>(`${SELECT(store)} WHERE owner = {owner:String} AND status IN {open:Array(String)} ORDER BY created_at`, {
    owner,
    open: ["queued", "running"] satisfies JobStatus[],
  });
  return rows.map(fromStored);
}

/** 64-bit integers arrive as strings in ClickHouse's JSON. */
function fromStored(r: JobRow): JobRow {
  const n = (v: unknown) => Number(v);
  return { ...r, rows_total: n(r.rows_total), rows_done: n(r.rows_done), rows_failed: n(r.rows_failed), input_offset: n(r.input_offset), output_bytes: n(r.output_bytes), created_at: n(r.created_at), updated_at: n(r.updated_at) };
}
