/**
 * How every use case that changes something is audited: the change and its `allowed` entry commit in one
 * transaction; when the change fails, a `refused` entry with the error code is written outside it (the
 * transaction has rolled back) and the error goes on to the caller. `before` runs ahead of the
 * transaction (work that needs no database, such as validating a large resource in a worker, so that no
 * transaction is held open meanwhile), audited the same way. A write whose request ran out of time
 * (src/shared/deadline.ts) is rolled back rather than committed after its client was answered.
 */
import type { AuditRecord } from '../audit/audit-record.ts';
import { IcrError } from '../shared/errors.ts';
import type { Db } from '../store/db.ts';
import { checkDeadline } from '../shared/deadline.ts';

/** An audit record before its outcome is known; `fn` may fill in what it learns (person, count). */
export type AuditDraft = Omit<AuditRecord, 'outcome'>;

export async function auditedWrite<T>(
  db: Db,
  audit: (db: Db, rec: AuditRecord) => Promise<void>,
  rec: AuditDraft,
  fn: (tx: Db, rec: AuditDraft) => Promise<T>,
  before?: (rec: AuditDraft) => Promise<void>,
): Promise<T> {
  try {
    if (rec.actor.kind === 'user' && rec.actor.limits?.readOnly === true) {
      // Every change, whichever service makes it (records, access grants, users), is refused to a read-only
      // SMART token; the refusal is audited below.
      throw new IcrError('ICR_ACCESS_DENIED', 'The SMART token grants reads only (scope *.rs)');
    }
    await before?.(rec);
    const attempt = () =>
      db.transaction(async (tx) => {
        const out = await fn(tx, rec);
        await audit(tx, { ...rec, outcome: 'allowed' });
        checkDeadline();
        return out;
      });
    // PostgreSQL aborted the transaction to break a deadlock with a concurrent writer (40P01): nothing of it
    // was written, and this write owns its transaction, so it is run again. Inside a caller's transaction the
    // whole transaction is lost: the caller decides (a set import retries its set).
    for (let tries = 1; ; tries++) {
      try {
        return await attempt();
      } catch (err) {
        if (db.inTransaction || !isDeadlock(err) || tries >= DEADLOCK_TRIES) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 20 * tries));
      }
    }
  } catch (err) {
    await audit(db, { ...rec, outcome: 'refused', errorCode: err instanceof IcrError ? err.code : 'ICR_INTERNAL' });
    throw err;
  }
}

/** How many times a write aborted by a deadlock is tried in all. */
export const DEADLOCK_TRIES = 3;

/** PostgreSQL's deadlock_detected: the transaction was rolled back whole. */
export function isDeadlock(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '40P01';
}
