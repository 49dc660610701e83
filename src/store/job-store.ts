/**
 * SQL of the job queue (see src/queue/ for the worker). A claimed job is leased (status 'running' with
 * `locked_until`), committed, then worked outside any transaction, so a long job never holds a database
 * connection or, on PGlite, the one connection. An expired lease makes the job claimable again.
 */
import type { Db } from './db.ts';

export interface JobRow {
  id: number;
  queue: string;
  orderingKey: string | null;
  payload: string;
  attempts: number;
  maxAttempts: number;
}

export interface JobCounts {
  pending: number;
  running: number;
  done: number;
  failed: number;
}

export async function enqueueJobs(
  tx: Db,
  queue: string,
  jobs: ReadonlyArray<{ payload: string; orderingKey?: string | null; maxAttempts?: number }>,
): Promise<number[]> {
  if (jobs.length === 0) return [];
  const res = await tx.query<{ id: number }>(
    `insert into job (queue, ordering_key, payload, max_attempts)
     select $1, k, p, m from unnest($2::text[], $3::text[], $4::int[]) with ordinality as x(k, p, m, n) order by n
     returning id`,
    [queue, jobs.map((j) => j.orderingKey ?? null), jobs.map((j) => j.payload), jobs.map((j) => j.maxAttempts ?? 5)],
  );
  return res.rows.map((r) => Number(r.id));
}

/**
 * Claims up to `limit` ready jobs. A job is ready when it is pending (or its lease expired), its time
 * has come, and no earlier job with the same ordering key is still pending, running or failed (a failed
 * job blocks its key until it is replayed or discarded, so later work for that person waits for it).
 */
export async function claimJobs(db: Db, queue: string, limit: number, leaseSeconds: number): Promise<JobRow[]> {
  return db.transaction(async (tx) => {
    const res = await tx.query<{
      id: number;
      queue: string;
      ordering_key: string | null;
      payload: string;
      attempts: number;
      max_attempts: number;
    }>(
      `with ready as (
         select j.id from job j
          where j.queue = $1
            and (j.status = 'pending' or (j.status = 'running' and j.locked_until < now()))
            and j.run_after <= now()
            and (j.ordering_key is null or not exists (
                  select 1 from job e
                   where e.ordering_key = j.ordering_key and e.id < j.id
                     and e.status in ('pending', 'running', 'failed')))
          order by j.id
          limit $2
          for update of j skip locked)
       update job set status = 'running', attempts = job.attempts + 1,
              locked_until = now() + make_interval(secs => $3)
         from ready where job.id = ready.id
       returning job.id, job.queue, job.ordering_key, job.payload, job.attempts, job.max_attempts`,
      [queue, limit, leaseSeconds],
    );
    return res.rows
      .map((r) => ({
        id: Number(r.id),
        queue: r.queue,
        orderingKey: r.ordering_key,
        payload: r.payload,
        attempts: Number(r.attempts),
        maxAttempts: Number(r.max_attempts),
      }))
      .sort((a, b) => a.id - b.id);
  });
}

export async function completeJob(db: Db, id: number): Promise<void> {
  await db.query(`update job set status = 'done', locked_until = null, finished_at = now() where id = $1`, [id]);
}

/** Extends the lease of jobs still running (a worker that is alive keeps what it claimed). */
export async function renewJobs(db: Db, ids: readonly number[], leaseSeconds: number): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `update job set locked_until = now() + make_interval(secs => $2) where id = any($1::bigint[]) and status = 'running'`,
    [ids.map(String), leaseSeconds],
  );
}

export async function completeJobs(db: Db, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `update job set status = 'done', locked_until = null, finished_at = now() where id = any($1::bigint[])`,
    [ids.map(String)],
  );
}

/** Records a failure: retried later with back-off, or marked failed (kept, with the reason) when out of attempts. */
export async function failJob(db: Db, id: number, reason: string, retryInSeconds: number | null): Promise<void> {
  if (retryInSeconds === null) {
    await db.query(
      `update job set status = 'failed', locked_until = null, last_error = $2, finished_at = now() where id = $1`,
      [id, reason],
    );
  } else {
    await db.query(
      `update job set status = 'pending', locked_until = null, last_error = $2,
              run_after = now() + make_interval(secs => $3) where id = $1`,
      [id, reason, retryInSeconds],
    );
  }
}

/** Puts a failed job back in the queue (after a fix), with its attempts reset. */
export async function replayJob(db: Db, id: number): Promise<boolean> {
  const res = await db.query(
    `update job set status = 'pending', attempts = 0, run_after = now(), finished_at = null where id = $1 and status = 'failed'`,
    [id],
  );
  return res.rowCount > 0;
}

export async function jobCounts(db: Db, queue: string): Promise<JobCounts> {
  const res = await db.query<{ status: keyof JobCounts; n: number }>(
    'select status, count(*)::int as n from job where queue = $1 group by status',
    [queue],
  );
  const counts: JobCounts = { pending: 0, running: 0, done: 0, failed: 0 };
  for (const r of res.rows) counts[r.status] = Number(r.n);
  return counts;
}

export async function failedJobs(
  db: Db,
  queue: string,
  limit = 100,
): Promise<Array<{ id: number; lastError: string | null; attempts: number }>> {
  const res = await db.query<{ id: number; last_error: string | null; attempts: number }>(
    `select id, last_error, attempts from job where queue = $1 and status = 'failed' order by id limit $2`,
    [queue, limit],
  );
  return res.rows.map((r) => ({ id: Number(r.id), lastError: r.last_error, attempts: Number(r.attempts) }));
}

/** Hands claimed jobs back unrun (their attempt is not counted): used when an earlier job of their key failed. */
export async function releaseJobs(db: Db, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query(
    `update job set status = 'pending', attempts = greatest(attempts - 1, 0), locked_until = null
      where id = any($1::bigint[]) and status = 'running'`,
    [ids.map(String)],
  );
}
