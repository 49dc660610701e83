/**
 * `icr audit verify` end to end on PGlite (and PostgreSQL when configured): entries written by the real
 * records service verify intact (exit 0); one byte changed, one entry deleted or two entries swapped
 * directly in the database make it fail naming the entry (exit 3); a database it cannot check exits 4.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Command } from 'commander';
import { registerAuditCommand, VERIFY_EXIT } from '../src/cli/audit-command.ts';
import { createServices } from '../src/compose.ts';
import type { UserActor } from '../src/shared/actor.ts';
import type { Db } from '../src/store/db.ts';
import { borrowed, openTestDb, testDatabases, type TestDb } from './helpers/db.ts';

const GP: UserActor = { kind: 'user', userId: 'gp-a81001', orgOds: 'A81001', role: 'R8000', displayName: 'Dr Demo' };

/** Runs `icr audit …` in-process over `db`; resolves to stdout, stderr and the exit code. */
async function icrAudit(db: () => Promise<Db>, ...args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  process.exitCode = undefined;
  const program = new Command().exitOverride();
  registerAuditCommand(program, { open: db, out: (s) => void (out += s), err: (s) => void (err += s) });
  const origWrite = process.stderr.write.bind(process.stderr);
  process.stderr.write = (s: string) => ((err += s), true);
  try {
    await program.parseAsync(['node', 'icr', 'audit', ...args]);
  } finally {
    process.stderr.write = origWrite;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { out, err, code };
}

for (const which of testDatabases) {
  describe(`icr audit verify (${which})`, () => {
    let t: TestDb;
    const db = async () => borrowed(t.db);

    before(async () => {
      t = await openTestDb(which);
      const { records } = createServices(t.db);
      await records.create(GP, { resourceType: 'Patient', id: 'x', name: [{ family: 'Testing' }] });
    });
    after(async () => t?.close());

    beforeEach(async () => {
      await t.db.exec('truncate audit_entry, audit_chain, audit_pending restart identity');
      const { records } = createServices(t.db);
      const created = await records.create(GP, { resourceType: 'Patient', name: [{ family: 'Audit' }] });
      for (let n = 0; n < 5; n++) await records.read(GP, 'Patient', created.resource.id);
      await records.search(GP, 'Patient', new URLSearchParams({ family: 'Audit' }), { baseUrl: 'http://x/fhir' });
    });

    it('passes on an intact trail and prints the head', async () => {
      const r = await icrAudit(db, 'verify');
      assert.equal(r.code, VERIFY_EXIT.intact, r.err);
      assert.match(r.out, /audit trail intact: 7 entries checked; head 7:[0-9a-f]{64}/);
      const head = /head (\d+:[0-9a-f]{64})/.exec(r.out)?.[1] ?? '';
      assert.equal((await icrAudit(db, 'verify', '--head', head)).code, VERIFY_EXIT.intact);
    });

    it('fails naming the entry when one byte is changed', async () => {
      const victim = await t.db.query<{ id: string }>('select id from audit_entry where seq = 4');
      await t.db.exec(`update audit_entry set what = overlay(what placing 'Q' from 1 for 1) where seq = 4`);
      const r = await icrAudit(db, 'verify');
      assert.equal(r.code, VERIFY_EXIT.tampered);
      assert.match(r.out, /TAMPERED \(altered\)/);
      assert.ok(r.out.includes(`entry ${victim.rows[0]?.id ?? '?'} (seq 4, position 4)`), r.out);
    });

    it('fails naming the entry when one is deleted', async () => {
      await icrAudit(db, 'verify'); // seals
      await t.db.exec('delete from audit_entry where seq = 2');
      const r = await icrAudit(db, 'verify');
      assert.equal(r.code, VERIFY_EXIT.tampered);
      assert.match(r.out, /TAMPERED \(deleted\): entry seq 2, sealed at position 2, was deleted/);
    });

    it('fails naming the entries when two are swapped', async () => {
      await icrAudit(db, 'verify'); // seals
      await t.db.exec('update audit_entry set seq = -seq where seq = 3');
      await t.db.exec('update audit_entry set seq = 3 where seq = 6');
      await t.db.exec('update audit_entry set seq = 6 where seq = -3');
      const r = await icrAudit(db, 'verify');
      assert.equal(r.code, VERIFY_EXIT.tampered);
      assert.match(
        r.out,
        /TAMPERED \(reordered\): entry \S+ \(seq 3, position 3\) holds the content sealed at position 6/,
      );
    });

    it('fails when the newest entries were cut off below a recorded head', async () => {
      const head = /head (\d+:[0-9a-f]{64})/.exec((await icrAudit(db, 'verify')).out)?.[1] ?? '';
      await t.db.exec('delete from audit_chain where position >= 6; delete from audit_entry where seq >= 6');
      assert.equal((await icrAudit(db, 'verify')).code, VERIFY_EXIT.intact, 'a cut tail alone is not visible');
      const r = await icrAudit(db, 'verify', '--head', head);
      assert.equal(r.code, VERIFY_EXIT.tampered);
      assert.match(r.out, /the newest entries were cut off/);
    });

    it('refuses a malformed --head as a usage error', async () => {
      const r = await icrAudit(db, 'verify', '--head', '7:abc');
      assert.equal(r.code, VERIFY_EXIT.usage);
      assert.match(r.err, /--head must be/);
    });
  });
}

describe('icr audit verify on a database it cannot check', () => {
  it('exits 4 when the database is not migrated', async () => {
    const t = await openTestDb('pglite', { migrate: false });
    try {
      const r = await icrAudit(async () => borrowed(t.db), 'verify');
      assert.equal(r.code, VERIFY_EXIT.cannotCheck);
      assert.match(r.err, /cannot check: the database is not migrated/);
    } finally {
      await t.close();
    }
  });

  it('exits 4 when the database cannot be opened', async () => {
    const r = await icrAudit(async () => Promise.reject(new Error('connection refused')), 'verify');
    assert.equal(r.code, VERIFY_EXIT.cannotCheck);
    assert.match(r.err, /cannot check: connection refused/);
  });
});
