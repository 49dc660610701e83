/**
 * The summary's kept counts (`person_item_count`, migration 0029, ADR 0055), on PGlite and PostgreSQL: after
 * every write path — create, update (an item moving from one count to another), delete, a transaction
 * Bundle, concurrent writes to one person, the MPI moving a source record's data to another person (link,
 * merge, unlink) — the counter rows equal a recount of `resource`, the latest arrival included (which goes
 * back when the newest item goes); the migration's backfill gives the same rows.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { FhirResource } from '../src/fhir/types.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { type AccessScope, adder, scopeClause } from '../src/store/access-sql.ts';
import type { Db, SqlValue } from '../src/store/db.ts';
import { readPersonSummary } from '../src/store/person-summary.ts';
import { openTestDb, testDatabases, type TestDb } from './helpers/db.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';
import { mpiRig, NHS, observation, patient, STEWARD, type MpiRig } from './mpi-fixtures.ts';

const KEY = 'person_id, resource_type, feed_id, source_org, category, entered_in_error, item_status';

/** The backfill statement of migration 0029 (rows written before the counts existed). */
const BACKFILL = (() => {
  const text = readFileSync(new URL('../src/store/migrations/0029_person_item_count.sql', import.meta.url), 'utf8');
  const start = text.indexOf('insert into person_item_count');
  return text.slice(start, text.indexOf(';', start));
})();

interface CountRow {
  key: string;
  n: number;
  received: string;
}

async function kept(db: Db): Promise<CountRow[]> {
  const res = await db.query<Record<string, unknown> & { n: number; received: Date | string }>(
    `select ${KEY}, n, received from person_item_count order by ${KEY}`,
  );
  return res.rows.map(norm);
}

async function recount(db: Db): Promise<CountRow[]> {
  const res = await db.query<Record<string, unknown> & { n: number; received: Date | string }>(
    `select ${KEY}, count(*)::int as n, max(coalesce(received_at, last_updated)) as received
       from resource where person_id is not null and not deleted
      group by ${KEY} order by ${KEY}`,
  );
  return res.rows.map(norm);
}

function norm(r: Record<string, unknown> & { n: number; received: Date | string }): CountRow {
  const { n, received, ...key } = r;
  return { key: JSON.stringify(key), n: Number(n), received: new Date(received).toISOString() };
}

async function assertExact(db: Db, label: string): Promise<CountRow[]> {
  const rows = await kept(db);
  assert.deepEqual(rows, await recount(db), label);
  return rows;
}

const counted = (rows: CountRow[], personId: string, type?: string) =>
  rows
    .filter((r) => {
      const k = JSON.parse(r.key) as { person_id: string; resource_type: string };
      return k.person_id === personId && (type === undefined || k.resource_type === type);
    })
    .reduce((n, r) => n + r.n, 0);

for (const kind of testDatabases) {
  describe(`the summary's kept counts (${kind})`, () => {
    let ta: TestApp;
    let db: Db;
    const subject = { reference: 'Patient/kc-1' };
    const at = (day: number) => ({
      feedId: 'feed-kc',
      sourceOrg: 'KC1',
      receivedAt: `2026-0${String(day)}-01T00:00:00.000Z`,
    });
    const condition = (id: string, status: string): FhirResource & { id: string } => ({
      resourceType: 'Condition',
      id,
      subject,
      clinicalStatus: {
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: status }],
      },
      code: { text: id },
    });

    before(async () => {
      ta = await openTestApp(kind);
      db = ta.records.db;
      await ta.records.update(
        SYSTEM_ACTOR,
        { resourceType: 'Patient', id: 'kc-1', name: [{ family: 'Kept' }] },
        {
          provenance: at(1),
        },
      );
    });
    after(async () => {
      await ta.close();
    });

    test('create, an update that moves an item to another count, delete: the latest arrival goes back', async () => {
      await ta.records.update(SYSTEM_ACTOR, condition('kc-c1', 'active'), { provenance: at(2) });
      await ta.records.update(SYSTEM_ACTOR, condition('kc-c2', 'active'), { provenance: at(3) });
      let rows = await assertExact(db, 'after creates');
      assert.equal(counted(rows, 'kc-1', 'Condition'), 2);
      // Resolved: the item leaves the `active` count for the `resolved` one.
      await ta.records.update(SYSTEM_ACTOR, condition('kc-c1', 'resolved'), { provenance: at(4) });
      rows = await assertExact(db, 'after an update');
      assert.equal(rows.filter((r) => r.key.includes('"resolved"')).length, 1);
      // The same arrival time again (the group's latest is re-read from the rows).
      await ta.records.update(
        SYSTEM_ACTOR,
        { ...condition('kc-c1', 'resolved'), note: [{ text: 'x' }] },
        {
          provenance: at(4),
        },
      );
      await assertExact(db, 'after an update with the same arrival');
      // The newest item of the source goes: its latest arrival is the one before.
      await ta.records.delete(SYSTEM_ACTOR, 'Condition', 'kc-c1');
      rows = await assertExact(db, 'after a delete');
      assert.equal(counted(rows, 'kc-1', 'Condition'), 1);
      const latest = rows
        .filter((r) => r.key.includes('"feed-kc"'))
        .map((r) => r.received)
        .sort()
        .at(-1);
      assert.equal(latest, at(3).receivedAt);
    });

    test('a transaction Bundle of creates, updates and deletes', async () => {
      await ta.records.processBundle(
        SYSTEM_ACTOR,
        {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            { resource: condition('kc-b1', 'active'), request: { method: 'PUT', url: 'Condition/kc-b1' } },
            { resource: condition('kc-c2', 'inactive'), request: { method: 'PUT', url: 'Condition/kc-c2' } },
            {
              resource: { resourceType: 'Observation', status: 'final', subject, code: { text: 'bp' } },
              request: { method: 'POST', url: 'Observation' },
            },
            { request: { method: 'DELETE', url: 'Condition/kc-b0' } },
          ],
        },
        'urn:test',
      );
      const rows = await assertExact(db, 'after a transaction Bundle');
      assert.equal(counted(rows, 'kc-1', 'Observation'), 1);
      assert.equal(counted(rows, 'kc-1', 'Condition'), 2);
    });

    test('concurrent writes to one person (new counts and existing ones, creates and deletes)', async () => {
      for (let round = 0; round < 3; round++) {
        const before = counted(await kept(db), 'kc-1');
        const from = (i: number) => ({ ...at(1 + (i % 9)), sourceOrg: `KC${String(round)}` });
        const id = (i: number) => `kc-o${String(round)}-${String(i)}`;
        await Promise.all(
          Array.from({ length: 24 }, (_, i) =>
            ta.records.update(
              SYSTEM_ACTOR,
              {
                resourceType: 'Observation',
                id: id(i),
                status: i % 2 ? 'final' : 'amended',
                subject,
                code: { text: 'x' },
              },
              { provenance: from(i) },
            ),
          ),
        );
        await Promise.all(
          Array.from({ length: 24 }, (_, i) =>
            i % 2
              ? ta.records.delete(SYSTEM_ACTOR, 'Observation', id(i))
              : ta.records.update(
                  SYSTEM_ACTOR,
                  { resourceType: 'Observation', id: id(i), status: 'final', subject, code: { text: 'y' } },
                  { provenance: from(i + 1) },
                ),
          ),
        );
        const rows = await assertExact(db, `after concurrent writes, round ${String(round)}`);
        assert.equal(counted(rows, 'kc-1'), before + 12);
      }
    });

    test('the summary applies the access scope to the counts as to the rows (feeds in testing, own organisation only, entered in error, categories)', async () => {
      await ta.records.update(
        SYSTEM_ACTOR,
        { resourceType: 'Observation', id: 'kc-eie', status: 'entered-in-error', subject, code: { text: 'x' } },
        { provenance: at(5) },
      );
      await ta.records.update(
        SYSTEM_ACTOR,
        { ...condition('kc-other-org', 'active'), code: { text: 'other' } },
        { provenance: { ...at(6), feedId: 'feed-other', sourceOrg: 'OTHER' } },
      );
      const all = ['demographics', 'problems', 'results', 'encounters', 'medications', 'allergies'];
      const scopes: Array<AccessScope | undefined> = [
        undefined,
        { sharedCategories: ['demographics'], personCategories: all, hiddenFeeds: [] },
        { sharedCategories: ['demographics'], personCategories: all, hiddenFeeds: ['feed-kc'] },
        { sharedCategories: ['demographics'], personCategories: all, hiddenFeeds: [], ownOrgOnly: 'OTHER' },
        { sharedCategories: [], personCategories: ['demographics', 'problems'], hiddenFeeds: ['feed-other'] },
      ];
      for (const scope of scopes) {
        const read = await readPersonSummary(db, 'kc-1', scope, { problems: 50, encounters: 5 }, new Date());
        // The same answers straight from the rows, under the same clause.
        const values: SqlValue[] = ['kc-1'];
        const where = scopeClause(adder(values), 'r', scope);
        const sources = await db.query<{
          feed_id: string | null;
          source_org: string | null;
          received: Date | string;
          n: number;
        }>(
          `select r.feed_id, r.source_org, max(coalesce(r.received_at, r.last_updated)) as received, count(*)::int as n
             from resource r where r.person_id = $1 and not r.deleted and ${where}
            group by r.feed_id, r.source_org`,
          values,
        );
        const problems = await db.query<{ n: number }>(
          `select count(*)::int as n from resource r
            where r.person_id = $1 and not r.deleted and r.resource_type = 'Condition'
              and coalesce(r.item_status, 'active') in ('active', 'recurrence') and ${where}`,
          values,
        );
        const label = JSON.stringify(scope ?? null);
        const key = (x: { feedId: string | null; sourceOrg: string | null }) =>
          `${x.feedId ?? ''}|${x.sourceOrg ?? ''}`;
        assert.deepEqual(
          read.sources.map((x) => ({ ...x })).sort((a, b) => key(a).localeCompare(key(b))),
          sources.rows
            .map((r) => ({
              feedId: r.feed_id,
              sourceOrg: r.source_org,
              updatedAt: new Date(r.received).toISOString(),
              items: Number(r.n),
            }))
            .sort((a, b) => key(a).localeCompare(key(b))),
          label,
        );
        assert.equal(read.totals.problems, problems.rows[0]?.n, label);
      }
    });

    test("the migration's backfill gives the same counts", async () => {
      const rows = await kept(db);
      assert.ok(rows.length > 3);
      await db.query('delete from person_item_count');
      await db.query(BACKFILL);
      assert.deepEqual(await kept(db), rows);
    });
  });

  describe(`the summary's kept counts when the MPI moves data between persons (${kind})`, () => {
    let t: TestDb;
    let rig: MpiRig;
    before(async () => {
      t = await openTestDb(kind);
      rig = mpiRig(t.db);
    });
    after(async () => t?.close());

    test('a link at write time, a merge and an unlink', async () => {
      const moss = {
        family: 'Moss',
        given: 'Ian',
        birthDate: '1944-04-04',
        gender: 'male',
        nhs: NHS[3],
        verified: true,
      };
      await rig.write([patient({ id: 'kc-m1', ...moss }), observation('kc-m1-o', 'kc-m1')]);
      await rig.write([
        patient({ id: 'kc-m2', family: 'Parker', given: 'John', birthDate: '1977-07-07', gender: 'male' }),
        observation('kc-m2-o', 'kc-m2'),
        observation('kc-m2-p', 'kc-m2'),
      ]);
      let rows = await assertExact(t.db, 'two persons');
      assert.equal(counted(rows, 'kc-m2'), 3);
      await rig.service.merge(
        { kind: 'system', systemId: 'feed-pas' },
        { sourcePatientId: 'kc-m2', targetPatientId: 'kc-m1' },
        'ADT^A40',
        'hl7-a40',
      );
      rows = await assertExact(t.db, 'after a merge');
      assert.equal(counted(rows, 'kc-m2'), 0);
      assert.equal(counted(rows, 'kc-m1'), 5);
      await rig.write([patient({ id: 'kc-m3', ...moss, postcode: 'LS1 4AP' }), observation('kc-m3-o', 'kc-m3')]);
      assert.equal(await rig.personOf('kc-m3'), 'kc-m1', 'linked on the verified NHS number');
      rows = await assertExact(t.db, 'after a record written for a linked person');
      assert.equal(counted(rows, 'kc-m1'), 7);
      await rig.service.unlink(STEWARD, 'kc-m3', 'Test');
      rows = await assertExact(t.db, 'after an unlink');
      assert.equal(counted(rows, 'kc-m1'), 5);
    });
  });
}
