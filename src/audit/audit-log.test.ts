/**
 * The group commit of reads' entries (ADR 0031, ADR 0056), against a database double that holds each insert
 * open until the test lets it commit: a lone entry is inserted at once; while an insert commits, a few new
 * entries wait and go together in the next one; a further insert starts alongside only for a group of at
 * least `minExtraGroup`; and no entry's `record` resolves before its own insert has committed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SqlArray } from '../store/sql-array.ts';
import type { Db, QueryResult, SqlValue } from '../store/db.ts';
import type { AuditRecord } from './audit-record.ts';
import { createAuditLog } from './audit-log.ts';

interface Insert {
  /** The entries' `what`, in the order of the statement's rows. */
  whats: string[];
  /** The entries' ids, likewise. */
  ids: string[];
  commit(): void;
  fail(err: Error): void;
}

/** A database handle whose every statement waits for the test to commit or fail it. */
function heldDb(): { db: Db; inserts: Insert[]; inFlight: () => number } {
  const inserts: Insert[] = [];
  let open = 0;
  const db: Db = {
    kind: 'postgres',
    inTransaction: false,
    async query<R>(_text: string, values?: readonly SqlValue[]): Promise<QueryResult<R>> {
      // A group insert sends one array per column (`what` is the 14th); a single insert sends the values.
      const what = values?.[13];
      const whats = what instanceof SqlArray ? what.values.map(String) : [String(what)];
      const id = values?.[0];
      const ids = id instanceof SqlArray ? id.values.map(String) : [String(id)];
      open += 1;
      return new Promise<QueryResult<R>>((resolve, reject) => {
        inserts.push({
          whats,
          ids,
          commit: () => {
            open -= 1;
            resolve({ rows: [], rowCount: whats.length });
          },
          fail: (err) => {
            open -= 1;
            reject(err);
          },
        });
      });
    },
    async exec() {},
    async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
      return fn(db);
    },
    async close() {},
  };
  return { db, inserts, inFlight: () => open };
}

function rec(n: number): AuditRecord {
  return {
    action: 'read',
    outcome: 'allowed',
    actor: { kind: 'user', userId: 'gp-a81001', orgOds: 'A81001', role: 'R8000' },
    patientId: 'p1',
    personId: 'person-1',
    what: `Observation/obs-${n}`,
    returned: 1,
    categories: ['results'],
    basis: 'relationship',
  };
}

/** Lets queued promise callbacks run. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Whether `p` has settled yet. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await tick();
  return done;
}

describe('audit log group commit', () => {
  it('inserts a lone entry at once, and answers only once it has committed', async () => {
    const { db, inserts } = heldDb();
    const log = createAuditLog();
    const p = log.record(db, rec(1));
    await tick();
    assert.equal(inserts.length, 1);
    assert.deepEqual(inserts[0]?.whats, ['Observation/obs-1']);
    assert.equal(await settled(p), false, 'not before its insert commits');
    inserts[0]?.commit();
    await p;
  });

  it('while an insert commits, a few new entries wait and go together in the next one', async () => {
    const { db, inserts, inFlight } = heldDb();
    const log = createAuditLog(); // default: a further insert for 8 waiting or more
    const first = log.record(db, rec(0));
    await tick();
    const next = Array.from({ length: 5 }, (_, i) => log.record(db, rec(1 + i)));
    await tick();
    assert.equal(inserts.length, 1, 'five waiting entries do not start an insert of their own');
    assert.equal(inFlight(), 1);
    inserts[0]?.commit();
    await first;
    await tick();
    assert.equal(inserts.length, 2);
    assert.deepEqual(
      inserts[1]?.whats,
      Array.from({ length: 5 }, (_, i) => `Observation/obs-${1 + i}`),
    );
    assert.equal(await settled(Promise.all(next)), false, 'not before their group commits');
    inserts[1]?.commit();
    await Promise.all(next);
  });

  it('starts a further insert alongside for a group of at least minExtraGroup, up to maxFlushes', async () => {
    const { db, inserts, inFlight } = heldDb();
    const log = createAuditLog({ minExtraGroup: 4, maxFlushes: 2 });
    const all = [log.record(db, rec(0))];
    await tick();
    for (let i = 1; i <= 3; i += 1) all.push(log.record(db, rec(i)));
    await tick();
    assert.equal(inserts.length, 1, 'three waiting: below the threshold');
    all.push(log.record(db, rec(4)));
    await tick();
    assert.equal(inserts.length, 2, 'the fourth waiting entry opens a second insert');
    assert.deepEqual(inserts[1]?.whats, [
      'Observation/obs-1',
      'Observation/obs-2',
      'Observation/obs-3',
      'Observation/obs-4',
    ]);
    for (let i = 5; i <= 12; i += 1) all.push(log.record(db, rec(i)));
    await tick();
    assert.equal(inFlight(), 2, 'never more than maxFlushes at once');
    inserts[0]?.commit();
    await tick();
    assert.equal(inserts.length, 3);
    assert.equal(inserts[2]?.whats.length, 8, 'the next group takes every waiting entry');
    inserts[1]?.commit();
    inserts[2]?.commit();
    await Promise.all(all);
  });

  it('gives each entry a time-ordered id from its own time (ADR 0056)', async () => {
    const { db, inserts } = heldDb();
    let t = Date.parse('2026-12-06T15:30:00.000Z');
    const log = createAuditLog({ now: () => new Date((t += 1)) });
    const all = [log.record(db, rec(0))];
    await tick();
    for (let i = 1; i <= 3; i += 1) all.push(log.record(db, rec(i)));
    await tick();
    inserts[0]?.commit();
    await tick();
    inserts[1]?.commit();
    await Promise.all(all);
    const ids = inserts.flatMap((x) => x.ids);
    assert.equal(ids.length, 4);
    for (const [i, id] of ids.entries()) {
      assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(parseInt(id.replaceAll('-', '').slice(0, 12), 16), Date.parse('2026-12-06T15:30:00.000Z') + 1 + i);
    }
  });

  it('a failed group insert fails every entry of that group, and the next group still goes', async () => {
    const { db, inserts } = heldDb();
    const log = createAuditLog();
    const first = log.record(db, rec(0));
    await tick();
    const waiting = [log.record(db, rec(1)), log.record(db, rec(2))];
    await tick();
    inserts[0]?.fail(new Error('disk full'));
    await assert.rejects(first, /disk full/);
    await tick();
    assert.equal(inserts.length, 2);
    inserts[1]?.fail(new Error('still full'));
    for (const w of waiting) await assert.rejects(w, /still full/);
    const later = log.record(db, rec(3));
    await tick();
    assert.equal(inserts.length, 3);
    inserts[2]?.commit();
    await later;
  });
});
