import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditRecord } from '../audit/audit-record.ts';
import { SYSTEM_ACTOR } from '../shared/actor.ts';
import type { Db } from '../store/db.ts';
import { auditedWrite, DEADLOCK_TRIES } from './audited-write.ts';

const deadlock = () => Object.assign(new Error('deadlock detected'), { code: '40P01' });

/** A Db whose transactions run `fn` on a handle that records what committed (nothing of a failed attempt). */
function fakeDb(inTransaction = false) {
  const committed: string[] = [];
  let transactions = 0;
  const db = {
    kind: 'postgres',
    inTransaction,
    async query() {
      return { rows: [], rowCount: 0 };
    },
    async exec() {},
    async close() {},
    async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      transactions++;
      const pending: string[] = [];
      const tx = { ...db, inTransaction: true, pending } as unknown as Db & { pending: string[] };
      const out = await fn(tx);
      committed.push(...pending);
      return out;
    },
  };
  return { db: db as unknown as Db, committed, transactions: () => transactions };
}

describe('auditedWrite on a deadlock (40P01)', () => {
  it('runs its own transaction again; the write and one allowed entry commit once', async () => {
    const f = fakeDb();
    const audited: AuditRecord[] = [];
    let calls = 0;
    const out = await auditedWrite(
      f.db,
      async (_db, rec) => void audited.push(rec),
      { action: 'update', actor: SYSTEM_ACTOR, what: 'Patient/x' },
      async (tx) => {
        calls++;
        if (calls === 1) throw deadlock();
        (tx as unknown as { pending: string[] }).pending.push('Patient/x');
        return 'ok';
      },
    );
    assert.equal(out, 'ok');
    assert.equal(calls, 2);
    assert.equal(f.transactions(), 2);
    assert.deepEqual(f.committed, ['Patient/x']);
    assert.deepEqual(
      audited.map((a) => a.outcome),
      ['allowed'],
    );
  });

  it(`gives up after ${DEADLOCK_TRIES} tries with the error, audited as refused`, async () => {
    const f = fakeDb();
    const audited: AuditRecord[] = [];
    await assert.rejects(
      auditedWrite(
        f.db,
        async (_db, rec) => void audited.push(rec),
        { action: 'update', actor: SYSTEM_ACTOR, what: 'Patient/x' },
        async () => {
          throw deadlock();
        },
      ),
      /deadlock/,
    );
    assert.equal(f.transactions(), DEADLOCK_TRIES);
    assert.deepEqual(
      audited.map((a) => [a.outcome, a.errorCode]),
      [['refused', 'ICR_INTERNAL']],
    );
  });

  it("is not retried inside a caller's transaction (the caller's whole transaction is lost)", async () => {
    const f = fakeDb(true);
    let calls = 0;
    await assert.rejects(
      auditedWrite(
        { ...f.db, inTransaction: true, transaction: (fn: (tx: Db) => Promise<unknown>) => fn(f.db) } as unknown as Db,
        async () => undefined,
        { action: 'update', actor: SYSTEM_ACTOR, what: 'Patient/x' },
        async () => {
          calls++;
          throw deadlock();
        },
      ),
      /deadlock/,
    );
    assert.equal(calls, 1);
  });

  it('other errors are not retried', async () => {
    const f = fakeDb();
    let calls = 0;
    await assert.rejects(
      auditedWrite(
        f.db,
        async () => undefined,
        { action: 'update', actor: SYSTEM_ACTOR, what: 'Patient/x' },
        async () => {
          calls++;
          throw Object.assign(new Error('unique'), { code: '23505' });
        },
      ),
      /unique/,
    );
    assert.equal(calls, 1);
  });
});
