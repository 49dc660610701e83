import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestDb, type TestDb, testDatabases } from '../../test/helpers/db.ts';
import { enqueueJobs, failedJobs, jobCounts, replayJob } from '../store/job-store.ts';
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
  });
}
