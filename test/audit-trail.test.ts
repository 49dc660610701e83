/**
 * The hash-chained audit trail on PGlite (and PostgreSQL when ICR_TEST_DATABASE_URL is set): entries are
 * sealed into the chain, `verifyAuditTrail` passes, and fails naming the first entry after one byte of
 * any column, one deletion, one swap or one inserted entry is made directly in the database. On
 * PostgreSQL, a write transaction holding its entry open does not stop other entries being written or
 * sealed (ADR 0019).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { createAuditLog } from '../src/audit/audit-log.ts';
import type { AuditRecord } from '../src/audit/audit-record.ts';
import { checkAsyncEpoch, sealAll, sealBatch } from '../src/audit/audit-sealer.ts';
import { verifyAuditTrail, type VerifyResult } from '../src/audit/audit-verify.ts';
import { createServices } from '../src/compose.ts';
import { auditConfig } from '../src/config/config.ts';
import { SYSTEM_ACTOR, type UserActor } from '../src/shared/actor.ts';
import type { Db } from '../src/store/db.ts';
import { openPostgres } from '../src/store/pg-db.ts';
import { openTestDb, testDatabaseUrl, testDatabases, type TestDb } from './helpers/db.ts';

const GP: UserActor = {
  kind: 'user',
  userId: 'gp-a81001',
  orgOds: 'A81001',
  role: 'R8000',
  displayName: 'Dr Asha Demo-Patel',
  via: { channel: 'fhir', requestId: 'req-1' },
};

function rec(n: number, extra: Partial<AuditRecord> = {}): AuditRecord {
  return {
    action: 'read',
    outcome: 'allowed',
    actor: GP,
    patientId: `p${n % 3}`,
    personId: `person-${n % 3}`,
    what: `Observation/obs-${n}`,
    returned: 1,
    categories: ['results'],
    basis: 'relationship',
    ...extra,
  };
}

async function entryIds(db: Db): Promise<Array<{ seq: number; id: string }>> {
  const res = await db.query<{ seq: number | string; id: string }>('select seq, id from audit_entry order by seq');
  return res.rows.map((r) => ({ seq: Number(r.seq), id: r.id }));
}

function tampered(result: VerifyResult): Extract<VerifyResult, { status: 'tampered' }>['problem'] {
  assert.equal(result.status, 'tampered', `expected tampering to be found, got ${JSON.stringify(result)}`);
  return result.problem;
}

for (const which of testDatabases) {
  describe(`audit trail (${which})`, () => {
    let t: TestDb;
    const log = createAuditLog();
    let ids: Array<{ seq: number; id: string }>;

    before(async () => {
      t = await openTestDb(which);
    });
    after(async () => t?.close());

    beforeEach(async () => {
      // A fresh trail of eight entries for each case (the tables are emptied as the owner may).
      await t.db.exec('truncate audit_entry, audit_chain, audit_pending restart identity');
      for (let n = 0; n < 8; n++) {
        await log.record(t.db, rec(n, n === 5 ? { basis: 'emergency', reason: 'Unconscious in ED' } : {}));
      }
      await sealAll(t.db);
      ids = await entryIds(t.db);
      assert.equal(ids.length, 8);
    });

    it('seals every entry in order and verifies intact', async () => {
      const seen: number[] = [];
      const result = await verifyAuditTrail(t.db, { progress: (n) => seen.push(n), pageSize: 3 });
      assert.equal(result.status, 'intact');
      assert.equal(result.checked, 8);
      assert.equal(result.head?.position, 8);
      assert.ok(seen.length >= 3, 'progress is reported page by page');
      const chain = await t.db.query<{ seq: number | string }>('select seq from audit_chain order by position');
      assert.deepEqual(
        chain.rows.map((r) => Number(r.seq)),
        ids.map((i) => i.seq),
      );
    });

    it('commits concurrent entries in groups, each intact', async () => {
      await Promise.all(
        Array.from({ length: 50 }, (_, n) =>
          log.record(
            t.db,
            rec(100 + n, n % 2 === 0 ? { categories: [] } : { categories: null as unknown as string[] }),
          ),
        ),
      );
      assert.equal((await entryIds(t.db)).length, 58);
      const result = await verifyAuditTrail(t.db);
      assert.equal(result.status, 'intact');
      assert.equal(result.checked, 58);
    });

    it('commits reads’ entries asynchronously when so configured: all present, chained, nothing left set on the connection', async () => {
      const asyncLog = createAuditLog({ readCommit: 'async' });
      await Promise.all(Array.from({ length: 30 }, (_, n) => asyncLog.record(t.db, rec(200 + n))));
      await asyncLog.record(t.db, rec(230)); // a lone entry takes the same (asynchronous) statement
      assert.equal((await entryIds(t.db)).length, 8 + 31);
      // The statement set synchronous_commit for its own transaction only: every pooled connection is back on.
      const settings = await Promise.all(
        Array.from({ length: 4 }, () => t.db.query<{ s: string }>("select current_setting('synchronous_commit') as s")),
      );
      assert.deepEqual(
        settings.map((r) => r.rows[0]?.s),
        ['on', 'on', 'on', 'on'],
      );
      // A write's entry in its transaction commits with the write, whatever the read setting.
      await t.db.transaction((tx) => asyncLog.record(tx, rec(300, { action: 'create' })));
      const result = await verifyAuditTrail(t.db);
      assert.equal(result.status, 'intact');
      assert.equal(result.checked, 8 + 32);
    });

    it('notes a PostgreSQL restart while reads commit asynchronously, in a durable entry of its own', async () => {
      await t.db.exec('truncate audit_async_epoch');
      assert.equal(await checkAsyncEpoch(t.db), false, 'the first start noted: nothing to say');
      assert.equal(await checkAsyncEpoch(t.db), false, 'the same start again: nothing to say');
      // As if the start noted had been an earlier one: PostgreSQL has restarted since.
      await t.db.exec(`update audit_async_epoch set postmaster_start = postmaster_start - interval '1 hour'`);
      assert.equal(await checkAsyncEpoch(t.db), true);
      assert.equal(await checkAsyncEpoch(t.db), false, 'said once');
      const said = await t.db.query<{ what: string; actor_id: string }>(
        `select what, actor_id from audit_entry where action = 'audit-async-restart'`,
      );
      assert.equal(said.rows.length, 1);
      assert.match(said.rows[0]?.what ?? '', /may be missing/);
      assert.equal(said.rows[0]?.actor_id, 'openicr');
      assert.equal((await verifyAuditTrail(t.db)).status, 'intact');
    });

    for (const readCommit of ['durable', 'async'] as const) {
      it(`leaves one chained entry per read for concurrent reads through the records service (${readCommit})`, async () => {
        const { records } = createServices(t.db, {
          mpi: false,
          auditConfig: { ...auditConfig({}), readCommit },
        });
        await records.update(SYSTEM_ACTOR, { resourceType: 'Patient', id: 'conc-p', name: [{ family: 'Conc' }] });
        const before = (await entryIds(t.db)).length;
        const outcomes = await Promise.allSettled(
          Array.from({ length: 24 }, (_, n) =>
            n % 3 === 0
              ? records.read(GP, 'Patient', `missing-${n}`) // refused: not known
              : records.read(GP, 'Patient', 'conc-p'),
          ),
        );
        assert.equal(outcomes.filter((o) => o.status === 'rejected').length, 8);
        const entries = await t.db.query<{ outcome: string; what: string; n: number | string }>(
          `select outcome, what, count(*) as n from audit_entry where seq > $1 and action = 'read'
            group by outcome, what order by what`,
          [before],
        );
        const byWhat = new Map(entries.rows.map((r) => [`${r.outcome} ${r.what}`, Number(r.n)]));
        assert.equal(byWhat.get('allowed Patient/conc-p'), 16, JSON.stringify([...byWhat]));
        for (let n = 0; n < 24; n += 3) assert.equal(byWhat.get(`refused Patient/missing-${n}`), 1);
        const result = await verifyAuditTrail(t.db);
        assert.equal(result.status, 'intact');
        assert.equal(result.checked, (await entryIds(t.db)).length);
      });
    }

    it('keeps an entry written in a transaction that rolls back out of the trail', async () => {
      await assert.rejects(
        t.db.transaction(async (tx) => {
          await log.record(tx, rec(99));
          throw new Error('the write failed');
        }),
        /the write failed/,
      );
      assert.equal((await entryIds(t.db)).length, 8);
      assert.equal((await verifyAuditTrail(t.db)).status, 'intact');
    });

    const columnEdits: Array<[string, string]> = [
      ['what', `what = 'Observation/obs-X'`],
      ['actor_id', `actor_id = 'gp-a81002'`],
      ['recorded_at (one microsecond)', `recorded_at = recorded_at + interval '1 microsecond'`],
      ['outcome', `outcome = 'refused'`],
      ['categories', `categories = array['results', 'medications']`],
      ['reason', `reason = 'Unconscious in ED.'`],
      [
        'content_hash',
        `content_hash = overlay(content_hash placing (case when left(content_hash, 1) = '0' then '1' else '0' end) from 1 for 1)`,
      ],
    ];
    for (const [column, set] of columnEdits) {
      it(`names the entry when one byte of ${column} is changed`, async () => {
        const victim = ids[5];
        assert.ok(victim);
        await t.db.query(`update audit_entry set ${set} where seq = $1`, [victim.seq]);
        const problem = tampered(await verifyAuditTrail(t.db));
        assert.equal(problem.kind, 'altered');
        assert.equal(problem.entryId, victim.id);
        assert.equal(problem.position, 6);
        assert.match(problem.message, new RegExp(victim.id));
      });
    }

    it('names a deleted entry', async () => {
      const victim = ids[3];
      assert.ok(victim);
      await t.db.query('delete from audit_entry where seq = $1', [victim.seq]);
      const problem = tampered(await verifyAuditTrail(t.db));
      assert.equal(problem.kind, 'deleted');
      assert.equal(problem.seq, victim.seq);
      assert.equal(problem.position, 4);
    });

    it('names a deleted entry together with its chain link', async () => {
      const victim = ids[3];
      assert.ok(victim);
      await t.db.query('delete from audit_entry where seq = $1', [victim.seq]);
      await t.db.query('delete from audit_chain where seq = $1', [victim.seq]);
      const problem = tampered(await verifyAuditTrail(t.db));
      assert.equal(problem.kind, 'deleted');
      assert.equal(problem.position, 4);
      assert.match(problem.message, /position 4 is missing/);
    });

    it('names swapped entries', async () => {
      const [a, b] = [ids[2], ids[6]];
      assert.ok(a && b);
      // Exchange the two rows' places in the sequence (a reordering; every byte of each row is kept).
      await t.db.query('update audit_entry set seq = -seq where seq = $1', [a.seq]);
      await t.db.query('update audit_entry set seq = $1 where seq = $2', [a.seq, b.seq]);
      await t.db.query('update audit_entry set seq = $1 where seq = $2', [b.seq, -a.seq]);
      const problem = tampered(await verifyAuditTrail(t.db));
      assert.equal(problem.kind, 'reordered');
      assert.equal(problem.position, 3);
      assert.match(problem.message, /position 7/);
    });

    it('names a swap of two chain links', async () => {
      await t.db.query(`update audit_chain set position = -position where position in (3, 4)`);
      await t.db.query(`update audit_chain set position = case position when -3 then 4 else 3 end where position < 0`);
      const problem = tampered(await verifyAuditTrail(t.db));
      assert.equal(problem.kind, 'chain-altered');
      assert.equal(problem.position, 3);
    });

    it('names an entry inserted around the trail', async () => {
      await t.db.query(
        `insert into audit_entry (id, recorded_at, action, outcome, actor_kind, actor_id, what, content_hash)
         values ('forged', now(), 'read', 'allowed', 'user', 'someone', 'Patient/x', 'abc')`,
      );
      const problem = tampered(await verifyAuditTrail(t.db));
      assert.equal(problem.kind, 'unchained');
      assert.equal(problem.entryId, 'forged');
    });

    it('names an entry deleted before it was sealed', async () => {
      await log.record(t.db, rec(42));
      const [last] = (await entryIds(t.db)).slice(-1);
      assert.ok(last);
      await t.db.query('delete from audit_entry where seq = $1', [last.seq]);
      const problem = tampered(await verifyAuditTrail(t.db));
      assert.equal(problem.kind, 'deleted');
      assert.equal(problem.seq, last.seq);
    });
  });
}

describe(
  'audit trail under concurrency (PostgreSQL)',
  { skip: testDatabaseUrl ? false : 'ICR_TEST_DATABASE_URL is not set' },
  () => {
    let t: TestDb;
    before(async () => {
      t = await openTestDb('postgres');
    });
    after(async () => t?.close());

    it('a write transaction holding its entry open blocks neither other writers nor the sealer', async () => {
      const log = createAuditLog();
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let entered!: () => void;
      const inside = new Promise<void>((r) => (entered = r));
      const longWrite = t.db.transaction(async (tx) => {
        await log.record(tx, rec(1000, { action: 'create', what: 'Observation/long-write' }));
        entered();
        await held; // the write goes on (a large import, say) while others work
      });
      await inside;
      const started = Date.now();
      // Other requests write and commit their entries, and the sealer links them, meanwhile.
      await Promise.all(Array.from({ length: 40 }, (_, n) => log.record(t.db, rec(n))));
      assert.equal(await sealAll(t.db), 40);
      assert.ok(Date.now() - started < 5000, 'nothing waited for the open transaction');
      release();
      await longWrite;
      assert.equal(await sealAll(t.db), 1);
      const result = await verifyAuditTrail(t.db);
      assert.equal(result.status, 'intact');
      assert.equal(result.checked, 41);
      const last = await t.db.query<{ what: string }>(
        'select e.what from audit_chain c join audit_entry e on e.seq = c.seq order by c.position desc limit 1',
      );
      assert.equal(last.rows[0]?.what, 'Observation/long-write', 'sealed after it committed, at the next position');
    });

    it('writers on many connections and two sealers at once leave one intact chain', async () => {
      const before = (await verifyAuditTrail(t.db)).checked;
      const url = testDatabaseUrl ?? '';
      // A second process's sealer: its own pool on the same schema.
      const schema = (await t.db.query<{ s: string }>('select current_schema() as s')).rows[0]?.s ?? '';
      const other = await openPostgres({ connectionString: url, schema, max: 2 });
      try {
        const log = createAuditLog();
        let writing = true;
        const sealers = [t.db, other].map(async (db) => {
          let sealed = 0;
          while (writing) sealed += await sealBatch(db, 50);
          return sealed;
        });
        await Promise.all(
          Array.from({ length: 8 }, async (_, w) => {
            for (let n = 0; n < 50; n++) await log.record(t.db, rec(w * 100 + n));
          }),
        );
        writing = false;
        await Promise.all(sealers);
        await sealAll(t.db);
        const result = await verifyAuditTrail(t.db);
        assert.equal(result.status, 'intact');
        assert.equal(result.checked, before + 400);
      } finally {
        await other.close();
      }
    });
  },
);
