/**
 * The grants of docs/audit.md, applied exactly as written there, on PostgreSQL: the application role
 * writes and seals audit entries but cannot update, delete or truncate them (DESIGN.md §7).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createAuditLog } from '../src/audit/audit-log.ts';
import { sealAll } from '../src/audit/audit-sealer.ts';
import { verifyAuditTrail } from '../src/audit/audit-verify.ts';
import type { Db } from '../src/store/db.ts';
import { openPostgres } from '../src/store/pg-db.ts';
import { openTestDb, testDatabaseUrl, type TestDb } from './helpers/db.ts';

/** The SQL block between the audit-grants markers of docs/audit.md. */
function documentedGrants(role: string): string {
  const doc = readFileSync(new URL('../docs/audit.md', import.meta.url), 'utf8');
  const m = /<!-- audit-grants:start -->\s*```sql\n([\s\S]*?)```\s*<!-- audit-grants:end -->/.exec(doc);
  assert.ok(m?.[1], 'docs/audit.md has the grants block');
  return m[1].replaceAll('icr_app', role);
}

describe('audit grants (PostgreSQL)', { skip: testDatabaseUrl ? false : 'ICR_TEST_DATABASE_URL is not set' }, () => {
  let t: TestDb;
  const role = `icr_app_${randomBytes(4).toString('hex')}`;
  let schema: string;

  /** Runs `fn` as the application role (SET LOCAL ROLE in one transaction). */
  const asApp = <T>(fn: (tx: Db) => Promise<T>): Promise<T> =>
    t.db.transaction(async (tx) => {
      await tx.exec(`set local role ${role}`);
      return fn(tx);
    });

  before(async () => {
    t = await openTestDb('postgres');
    schema = (await t.db.query<{ s: string }>('select current_schema() as s')).rows[0]?.s ?? '';
    await t.db.exec(`create role ${role} nologin`);
    await t.db.exec(`grant usage on schema ${schema} to ${role}`);
    await t.db.exec(documentedGrants(role));
    await createAuditLog().record(t.db, {
      action: 'read',
      outcome: 'allowed',
      actor: { kind: 'system', systemId: 'x' },
      what: 'Patient/a',
    });
    await sealAll(t.db);
  });
  after(async () => {
    const admin = await openPostgres({ connectionString: testDatabaseUrl ?? '', max: 1 });
    try {
      await t?.close();
      await admin.exec(`drop owned by ${role}; drop role ${role}`);
    } finally {
      await admin.close();
    }
  });

  it('lets the application role insert, read and seal entries', async () => {
    await asApp(async (tx) => {
      await createAuditLog().record(tx, {
        action: 'search',
        outcome: 'allowed',
        actor: { kind: 'user', userId: 'gp', orgOds: 'A81001', role: 'R8000' },
        what: 'Observation?patient=a',
      });
      assert.equal(await sealAll(tx), 1);
      const n = await tx.query<{ n: number }>('select count(*)::int as n from audit_entry');
      assert.equal(n.rows[0]?.n, 2);
    });
    assert.equal((await verifyAuditTrail(t.db)).status, 'intact');
  });

  for (const [what, sql] of [
    ['update an entry', `update audit_entry set what = 'x'`],
    ['delete an entry', 'delete from audit_entry'],
    ['truncate the entries', 'truncate audit_entry'],
    ['update a chain link', `update audit_chain set chain_hash = 'x'`],
    ['delete a chain link', 'delete from audit_chain'],
  ] as const) {
    it(`refuses the application role to ${what}`, async () => {
      await assert.rejects(
        asApp((tx) => tx.query(sql)),
        (err: { code?: string }) => err.code === '42501', // insufficient_privilege
      );
    });
  }
});
