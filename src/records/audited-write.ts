/**
 * How every use case that changes something is audited: the change and its `allowed` entry commit in one
 * transaction; when the change fails, a `refused` entry with the error code is written outside it (the
 * transaction has rolled back) and the error goes on to the caller.
 */
import type { AuditRecord } from '../audit/audit-record.ts';
import { IcrError } from '../shared/errors.ts';
import type { Db } from '../store/db.ts';

/** An audit record before its outcome is known; `fn` may fill in what it learns (person, count). */
export type AuditDraft = Omit<AuditRecord, 'outcome'>;

export async function auditedWrite<T>(
  db: Db,
  audit: (db: Db, rec: AuditRecord) => Promise<void>,
  rec: AuditDraft,
  fn: (tx: Db, rec: AuditDraft) => Promise<T>,
): Promise<T> {
  try {
    if (rec.actor.kind === 'user' && rec.actor.limits?.readOnly === true) {
      // Every change, whichever service makes it (records, access grants, users), is refused to a read-only
      // SMART token; the refusal is audited below.
      throw new IcrError('ICR_ACCESS_DENIED', 'The SMART token grants reads only (scope *.rs)');
    }
    return await db.transaction(async (tx) => {
      const out = await fn(tx, rec);
      await audit(tx, { ...rec, outcome: 'allowed' });
      return out;
    });
  } catch (err) {
    await audit(db, { ...rec, outcome: 'refused', errorCode: err instanceof IcrError ? err.code : 'ICR_INTERNAL' });
    throw err;
  }
}
