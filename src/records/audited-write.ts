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
    return await db.transaction(async (tx) => {
      const out = await fn(tx, rec);
      await audit(tx, { ...rec, outcome: 'allowed' });
      checkDeadline();
      return out;
    });
  } catch (err) {
    await audit(db, { ...rec, outcome: 'refused', errorCode: err instanceof IcrError ? err.code : 'ICR_INTERNAL' });
    throw err;
  }
}
