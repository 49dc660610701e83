import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestDb, type TestDb, testDatabases } from '../../test/helpers/db.ts';
import type { Indexer } from './resource-store.ts';
import { ResourceStore } from './resource-store.ts';

/** Records what the store asked the indexer to do (the real indexer has its own tests). */
function recordingIndexer() {
  const calls: string[] = [];
  const indexer: Indexer = {
    async index(_tx, items) {
      calls.push(...items.map((i) => `index ${i.resourceType}/${i.id} person=${i.personId}`));
    },
    async remove(_tx, type, ids) {
      calls.push(...ids.map((id) => `remove ${type}/${id}`));
    },
  };
  return { calls, indexer };
}

for (const kind of testDatabases) {
  describe(`resource store (${kind})`, () => {
    let t: TestDb;
    before(async () => {
      t = await openTestDb(kind);
    });
    after(async () => {
      await t.close();
    });

    it('creates version 1, then a new version per change, and nothing for an identical re-send', async () => {
      const { calls, indexer } = recordingIndexer();
      const store = new ResourceStore({ indexer });
      const patient = { resourceType: 'Patient', id: 'rs-p1', gender: 'female' };
      const [r1] = await t.db.transaction((tx) =>
        store.put(tx, [{ resource: patient, provenance: { feedId: 'gp', sourceOrg: 'A81001' } }]),
      );
      assert.equal(r1?.outcome, 'created');
      assert.equal(r1?.row.versionId, 1);
      const stored = JSON.parse(r1?.row.json ?? '{}');
      assert.deepEqual(stored.meta, { versionId: '1', lastUpdated: r1?.row.lastUpdated });

      const [again] = await t.db.transaction((tx) => store.put(tx, [{ resource: { ...patient } }]));
      assert.equal(again?.outcome, 'unchanged');
      assert.equal(again?.row.versionId, 1);
      assert.equal(again?.row.feedId, 'gp');

      const [r2] = await t.db.transaction((tx) => store.put(tx, [{ resource: { ...patient, gender: 'male' } }]));
      assert.equal(r2?.outcome, 'updated');
      assert.equal(r2?.row.versionId, 2);

      const v1 = await store.vread(t.db, 'Patient', 'rs-p1', 1);
      assert.equal(JSON.parse(v1?.json ?? '{}').gender, 'female');
      const cur = await store.read(t.db, 'Patient', 'rs-p1');
      assert.equal(cur?.versionId, 2);
      assert.equal(cur?.sourceOrg, null, 'provenance is that of the version that wrote it');
      assert.deepEqual(calls, ['index Patient/rs-p1 person=rs-p1', 'index Patient/rs-p1 person=rs-p1']);
    });

    it('keeps provenance and the person key of clinical resources', async () => {
      const { indexer } = recordingIndexer();
      const store = new ResourceStore({ indexer });
      const obs = {
        resourceType: 'Observation',
        id: 'rs-o1',
        status: 'final',
        code: { text: 'x' },
        subject: { reference: 'Patient/rs-p1' },
      };
      await t.db.transaction((tx) =>
        store.put(tx, [
          {
            resource: obs,
            provenance: { feedId: 'lab', sourceOrg: 'RXX01', sourceId: 'MSG1', receivedAt: '2026-01-02T03:04:05.000Z' },
          },
        ]),
      );
      const row = await store.read(t.db, 'Observation', 'rs-o1');
      assert.equal(row?.patientId, 'rs-p1');
      assert.equal(row?.personId, 'rs-p1');
      assert.equal(row?.feedId, 'lab');
      assert.equal(row?.sourceOrg, 'RXX01');
      assert.equal(row?.sourceId, 'MSG1');
      assert.equal(row?.receivedAt, '2026-01-02T03:04:05.000Z');
    });

    it('refuses a stale If-Match and a duplicate create, writing nothing', async () => {
      const { indexer } = recordingIndexer();
      const store = new ResourceStore({ indexer });
      const res = { resourceType: 'Organization', id: 'rs-org', name: 'A' };
      await t.db.transaction((tx) => store.put(tx, [{ resource: res }]));
      await assert.rejects(
        () => t.db.transaction((tx) => store.put(tx, [{ resource: { ...res, name: 'B' }, ifMatch: 7 }])),
        (e: Error & { code?: string }) => e.code === 'ICR_VERSION_CONFLICT',
      );
      await assert.rejects(
        () =>
          t.db.transaction((tx) =>
            store.put(tx, [
              { resource: { resourceType: 'Organization', id: 'rs-new', name: 'N' } },
              { resource: res, mustNotExist: true },
            ]),
          ),
        (e: Error & { code?: string }) => e.code === 'ICR_CONFLICT',
      );
      assert.equal(await store.read(t.db, 'Organization', 'rs-new'), null, 'the whole set rolled back');
      assert.equal((await store.read(t.db, 'Organization', 'rs-org'))?.versionId, 1);
    });

    it('tombstones on delete and keeps every version in history', async () => {
      const { calls, indexer } = recordingIndexer();
      const store = new ResourceStore({ indexer });
      const res = {
        resourceType: 'Flag',
        id: 'rs-f1',
        status: 'active',
        code: { text: 'a' },
        subject: { reference: 'Patient/rs-p9' },
      };
      await t.db.transaction((tx) => store.put(tx, [{ resource: res }]));
      const del = await t.db.transaction((tx) => store.delete(tx, 'Flag', 'rs-f1'));
      assert.equal(del?.versionId, 2);
      assert.equal(await t.db.transaction((tx) => store.delete(tx, 'Flag', 'rs-f1')), null);
      const cur = await store.read(t.db, 'Flag', 'rs-f1');
      assert.equal(cur?.deleted, true);
      assert.equal(cur?.json, null);
      const h = await store.history(t.db, { resourceType: 'Flag', id: 'rs-f1', count: 10, offset: 0 });
      assert.deepEqual(
        h.rows.map((r) => [r.versionId, r.deleted]),
        [
          [2, true],
          [1, false],
        ],
      );
      assert.equal(h.total, 2);
      const byPerson = await store.history(t.db, { personId: 'rs-p9', count: 10, offset: 0 });
      assert.equal(byPerson.total, 2);
      assert.ok(calls.includes('remove Flag/rs-f1'));
      // Re-creating after delete starts from the tombstone's version.
      const [re] = await t.db.transaction((tx) => store.put(tx, [{ resource: res }]));
      assert.equal(re?.outcome, 'created');
      assert.equal(re?.row.versionId, 3);
    });

    it('writes a large set in one call', async () => {
      const { indexer } = recordingIndexer();
      const store = new ResourceStore({ indexer });
      const items = Array.from({ length: 500 }, (_, i) => ({
        resource: {
          resourceType: 'Observation',
          id: `rs-bulk-${i}`,
          status: 'final',
          code: { text: 'hb' },
          subject: { reference: `Patient/rs-bp${i % 7}` },
        },
      }));
      const res = await t.db.transaction((tx) => store.put(tx, items));
      assert.equal(res.filter((r) => r.outcome === 'created').length, 500);
      const n = await t.db.query<{ n: number }>(
        `select count(*)::int as n from resource where id like 'rs-bulk-%' and person_id = 'rs-bp3'`,
      );
      assert.equal(n.rows[0]?.n, 71);
    });
  });
}
