/**
 * A small job worker over the PostgreSQL job table (src/store/job-store.ts). Stateless: run as many
 * worker processes as needed; SKIP LOCKED hands each job to one of them, and jobs sharing an ordering key
 * (a person) run one after another, in order.
 */
import type { Db } from '../store/db.ts';
import { claimJobs, completeJob, completeJobs, failJob, releaseJobs, renewJobs } from '../store/job-store.ts';
import type { JobRow } from '../store/job-store.ts';
import { nextMsPerJob, sliceSize } from './round-slices.ts';

export type JobHandler = (job: JobRow) => Promise<void>;

/**
 * Runs several jobs at once (set-based work): the jobs never share an ordering key. Resolves with the
 * ids of the jobs that failed and why (thrown errors, PermanentJobError to fail at once); the others are
 * complete. Throwing fails none: each job is then run alone with `handler`.
 */
export type BatchJobHandler = (jobs: readonly JobRow[]) => Promise<Map<number, unknown>>;

/** Thrown by a handler when retrying cannot help (bad input): the job fails at once, kept for replay. */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentJobError';
  }
}

export interface WorkerOptions {
  queue: string;
  handler: JobHandler;
  /**
   * When given, each claim is run in rounds (a round takes the next job of every ordering key) and each
   * round is handed to this handler at once.
   */
  batchHandler?: BatchJobHandler;
  /** Jobs claimed per poll. */
  batchSize?: number;
  pollIntervalMs?: number;
  leaseSeconds?: number;
  /** Back-off before retry n (1-based), in seconds. */
  backoffSeconds?: (attempt: number) => number;
  /** Called with the job id and a safe reason (no patient data) when a job fails. */
  onError?: (jobId: number, reason: string) => void;
  /**
   * With `batchHandler`: each round is handed over in slices expected, at the time per job measured so far
   * (CPU time of this thread), to take at most this many milliseconds, with a turn of the event loop between
   * slices. Set on PGlite,
   * whose one connection runs on the server's thread: a slice's transaction holds the database, and with it
   * the intake's commits and so the ACKs, for its whole length (ADR 0053). Unset: a round in one go.
   */
  roundBudgetMs?: number;
}

/**
 * CPU milliseconds this thread has used: what a slice holds the event loop for, whatever else the machine
 * runs (wall time would shrink the slices exactly when the machine is busy and the worker behind).
 */
function threadMs(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
}

/** Error messages are stored with the job; keep them short and free of patient data. */
function reasonOf(err: unknown): string {
  const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return msg.slice(0, 1000);
}

export class Worker {
  readonly #db: Db;
  readonly #opts: Required<Omit<WorkerOptions, 'onError' | 'batchHandler' | 'roundBudgetMs'>> &
    Pick<WorkerOptions, 'onError' | 'batchHandler' | 'roundBudgetMs'>;
  /** Measured time per job of a batch (time-bounded rounds only). */
  #msPerJob: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #stopped = false;
  #idle: Promise<void> = Promise.resolve();
  #draining = false;
  #woken = false;

  constructor(db: Db, opts: WorkerOptions) {
    this.#db = db;
    this.#opts = {
      batchSize: 20,
      pollIntervalMs: 200,
      leaseSeconds: 60,
      backoffSeconds: (n) => Math.min(300, 2 ** n),
      ...opts,
    };
  }

  /**
   * Claims and runs ready jobs until none are ready. Jobs of one claim with the same ordering key run
   * sequentially in id order; different keys run concurrently. Returns how many jobs ran.
   */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const jobs = await claimJobs(this.#db, this.#opts.queue, this.#opts.batchSize, this.#opts.leaseSeconds);
      if (jobs.length === 0) return total;
      // The lease is renewed while the claim is worked, so it can be short: after a crash, the jobs a dead
      // worker held are claimable again within one lease.
      const renew = setInterval(
        () => {
          void renewJobs(
            this.#db,
            jobs.map((j) => j.id),
            this.#opts.leaseSeconds,
          ).catch(() => undefined);
        },
        (this.#opts.leaseSeconds * 1000) / 3,
      );
      try {
        total += await this.#work(jobs);
      } finally {
        clearInterval(renew);
      }
    }
  }

  async #work(jobs: JobRow[]): Promise<number> {
    const chains = new Map<string, JobRow[]>();
    for (const job of jobs) {
      const key = job.orderingKey ?? `#${job.id}`;
      const chain = chains.get(key) ?? [];
      chain.push(job);
      chains.set(key, chain);
    }
    if (this.#opts.batchHandler) {
      await this.#runRounds([...chains.values()], this.#opts.batchHandler);
      return jobs.length;
    }
    await Promise.all(
      [...chains.values()].map(async (chain) => {
        for (const [n, job] of chain.entries()) {
          const ok = await this.#run(job);
          if (!ok) {
            // Later jobs of this key wait until the failed one succeeds, is replayed or is discarded.
            await releaseJobs(
              this.#db,
              chain.slice(n + 1).map((j) => j.id),
            );
            break;
          }
        }
      }),
    );
    return jobs.length;
  }

  /** Round n runs the n-th job of every chain still going; a failed job releases the rest of its chain. */
  async #runRounds(chains: JobRow[][], batch: BatchJobHandler): Promise<void> {
    let live = chains;
    for (let n = 0; live.length > 0; n += 1) {
      const round = live.map((c) => c[n]).filter((j): j is JobRow => j !== undefined);
      if (round.length === 0) return;
      const failures = new Map<number, unknown>();
      const budget = this.#opts.roundBudgetMs;
      // A round's jobs have different ordering keys, so its slices may run one after another in any order.
      for (let at = 0; at < round.length;) {
        const size = budget === undefined ? round.length : sliceSize(round.length - at, budget, this.#msPerJob);
        const slice = round.slice(at, at + size);
        if (at > 0) await new Promise((r) => setImmediate(r));
        at += size;
        const t0 = threadMs();
        await this.#runSlice(slice, batch, failures);
        if (budget !== undefined) this.#msPerJob = nextMsPerJob(this.#msPerJob, threadMs() - t0, slice.length);
      }
      live = await this.#afterRound(live, n, failures);
    }
  }

  /** One batch: its jobs completed, or failed with their reasons (added to `failures`). */
  async #runSlice(slice: readonly JobRow[], batch: BatchJobHandler, failures: Map<number, unknown>): Promise<void> {
    let failed: Map<number, unknown>;
    try {
      failed = await batch(slice);
    } catch {
      // The set could not be done at once: each job alone (with its own retries and reasons).
      for (const job of slice) if (!(await this.#run(job))) failures.set(job.id, undefined);
      return;
    }
    await completeJobs(
      this.#db,
      slice.filter((j) => !failed.has(j.id)).map((j) => j.id),
    );
    for (const job of slice) {
      if (!failed.has(job.id)) continue;
      failures.set(job.id, failed.get(job.id));
      await this.#failed(job, failed.get(job.id));
    }
  }

  async #afterRound(chains: JobRow[][], n: number, failures: Map<number, unknown>): Promise<JobRow[][]> {
    const next: JobRow[][] = [];
    const released: number[] = [];
    for (const c of chains) {
      const job = c[n];
      if (job && failures.has(job.id)) released.push(...c.slice(n + 1).map((j) => j.id));
      else if (c.length > n + 1) next.push(c);
    }
    await releaseJobs(this.#db, released);
    return next;
  }

  async #failed(job: JobRow, err: unknown): Promise<void> {
    const reason = reasonOf(err);
    const retry =
      job.attempts < job.maxAttempts && !(err instanceof PermanentJobError)
        ? this.#opts.backoffSeconds(job.attempts)
        : null;
    await failJob(this.#db, job.id, reason, retry);
    this.#opts.onError?.(job.id, reason);
  }

  async #run(job: JobRow): Promise<boolean> {
    try {
      await this.#opts.handler(job);
      await completeJob(this.#db, job.id);
      return true;
    } catch (err) {
      const reason = reasonOf(err);
      const retry =
        job.attempts < job.maxAttempts && !(err instanceof PermanentJobError)
          ? this.#opts.backoffSeconds(job.attempts)
          : null;
      await failJob(this.#db, job.id, reason, retry);
      this.#opts.onError?.(job.id, reason);
      return false;
    }
  }

  /** Polls in the background until close(). */
  start(): void {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    this.#tick();
  }

  #tick(): void {
    if (this.#stopped) return;
    this.#timer = undefined;
    this.#draining = true;
    this.#woken = false;
    this.#idle = this.drain()
      .then(() => undefined)
      .catch((err: unknown) => this.#opts.onError?.(-1, reasonOf(err)))
      .finally(() => {
        this.#draining = false;
        if (this.#stopped) return;
        // Work enqueued while draining (after its last empty claim) is not left for the next poll.
        if (this.#woken) setImmediate(() => this.#tick());
        else this.#timer = setTimeout(() => this.#tick(), this.#opts.pollIntervalMs);
      });
  }

  /**
   * New jobs were enqueued (in this process): claim them now rather than at the next poll. Other processes'
   * jobs are found by polling.
   */
  wake(): void {
    if (!this.#running || this.#stopped) return;
    if (this.#draining) {
      this.#woken = true;
      return;
    }
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#tick();
    }
  }

  async close(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#idle;
  }
}
