import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestDb, type TestDb, testDatabases } from '../../test/helpers/db.ts';
import { enqueueJobs, failedJobs, jobCounts, replayJob } from '../store/job-store.ts';
import { FIRST_SLICE } from './round-slices.ts';
import { Worker } from './worker.ts';

for (const kind of testDatabases) {
  describe(`job queue (${kind})`, () => {
    let t: TestDb;
    before(async () => {
      t = await openTestDb(kind);
    });
    after(async () => {
      await t.close();
    });

    it('runs jobs of one ordering key in order, and other keys too', async () => {
      const seen: string[] = [];
      await t.db.transaction((tx) =>
        enqueueJobs(tx, 'q-order', [
          { payload: 'a1', orderingKey: 'A' },
          { payload: 'b1', orderingKey: 'B' },
          { payload: 'a2', orderingKey: 'A' },
          { payload: 'a3', orderingKey: 'A' },
          { payload: 'n1' },
        ]),
      );
      const worker = new Worker(t.db, {
        queue: 'q-order',
        batchSize: 2,
        handler: async (job) => {
          seen.push(job.payload);
        },
      });
      assert.equal(await worker.drain(), 5);
      const aOrder = seen.filter((p) => p.startsWith('a'));
      assert.deepEqual(aOrder, ['a1', 'a2', 'a3']);
      assert.deepEqual(new Set(seen), new Set(['a1', 'a2', 'a3', 'b1', 'n1']));
      assert.deepEqual(await jobCounts(t.db, 'q-order'), { pending: 0, running: 0, done: 5, failed: 0 });
    });

    it('a job enqueued in a rolled-back transaction never exists', async () => {
      await assert.rejects(() =>
        t.db.transaction(async (tx) => {
          await enqueueJobs(tx, 'q-outbox', [{ payload: 'x' }]);
          throw new Error('caller failed');
        }),
      );
      assert.deepEqual(await jobCounts(t.db, 'q-outbox'), { pending: 0, running: 0, done: 0, failed: 0 });
    });

    it('keeps a failing job with its reason, holds back later work for its key, and replays it', async () => {
      let broken = true;
      const seen: string[] = [];
      await t.db.transaction((tx) =>
        enqueueJobs(tx, 'q-fail', [
          { payload: 'p1', orderingKey: 'P', maxAttempts: 1 },
          { payload: 'p2', orderingKey: 'P' },
          { payload: 'q1', orderingKey: 'Q' },
        ]),
      );
      const errors: string[] = [];
      const worker = new Worker(t.db, {
        queue: 'q-fail',
        handler: async (job) => {
          if (job.payload === 'p1' && broken) throw new Error('mapping failed: PID-3 missing');
          seen.push(job.payload);
        },
        onError: (_id, reason) => errors.push(reason),
      });
      await worker.drain();
      assert.deepEqual(seen, ['q1'], 'p2 waits behind the failed p1');
      assert.deepEqual(errors, ['Error: mapping failed: PID-3 missing']);
      const failed = await failedJobs(t.db, 'q-fail');
      assert.equal(failed.length, 1);
      assert.equal(failed[0]?.lastError, 'Error: mapping failed: PID-3 missing');
      broken = false;
      assert.equal(await replayJob(t.db, failed[0]?.id ?? -1), true);
      await worker.drain();
      assert.deepEqual(seen, ['q1', 'p1', 'p2']);
      assert.deepEqual(await jobCounts(t.db, 'q-fail'), { pending: 0, running: 0, done: 3, failed: 0 });
    });
    it('hands a round over in time-bounded slices, each job once, each key in order', async () => {
      const jobs = Array.from({ length: 40 }, (_, n) => ({
        payload: `k${n % 20}-${Math.floor(n / 20)}`,
        orderingKey: `k${n % 20}`,
      }));
      await t.db.transaction((tx) => enqueueJobs(tx, 'q-slices', jobs));
      const slices: number[] = [];
      const seen: string[] = [];
      const worker = new Worker(t.db, {
        queue: 'q-slices',
        batchSize: 40,
        roundBudgetMs: 12,
        handler: async () => {
          throw new Error('not used: every slice is done as a batch');
        },
        batchHandler: async (round) => {
          slices.push(round.length);
          seen.push(...round.map((j) => j.payload));
          // At least 5 ms of this thread's CPU a job (the worker measures CPU time, not waiting): the measured
          // time per job is never below it, so later slices hold ≤ 2 jobs.
          const until = process.threadCpuUsage();
          const spent = () => {
            const u = process.threadCpuUsage(until);
            return (u.user + u.system) / 1000;
          };
          while (spent() < 5 * round.length) {
            // busy: CPU time is what a slice is measured in
          }
          await Promise.resolve();
          return new Map();
        },
      });
      assert.equal(await worker.drain(), 40);
      assert.equal(slices[0], FIRST_SLICE);
      assert.ok(slices.length > 2, slices.join(','));
      assert.ok(
        slices.slice(1).every((n) => n <= 2),
        `later slices fit the budget: ${slices.join(',')}`,
      );
      assert.equal(
        slices.reduce((a, b) => a + b, 0),
        40,
      );
      assert.deepEqual([...seen].sort(), jobs.map((j) => j.payload).sort());
      for (let k = 0; k < 20; k++) assert.ok(seen.indexOf(`k${k}-0`) < seen.indexOf(`k${k}-1`), `k${k} in order`);
      assert.deepEqual(await jobCounts(t.db, 'q-slices'), { pending: 0, running: 0, done: 40, failed: 0 });
    });
  });
}
