import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestDb, testDatabases, type TestDb } from '../../../test/helpers/db.ts';
import { seed } from '../../../test/helpers/search-seed.ts';
import { searchFixtures } from '../../../test/fixtures/search-fixtures.ts';
import type { Db } from '../db.ts';
import { findIds } from '../search/find-ids.ts';
import { indexResources, INDEX_TABLES, removeIndexes, searchIndexer } from './index-resources.ts';
import { reindexAll } from './reindex.ts';

/** Wraps a Db to count the statements sent through it. */
function counting(db: Db): { db: Db; count: () => number } {
  let n = 0;
  const wrapped = Object.create(db) as Db;
  wrapped.query = (text, values) => {
    n++;
    return db.query(text, values);
  };
  return { db: wrapped, count: () => n };
}

/** Every index row, as text, in a stable order. */
async function dump(db: Db): Promise<string[]> {
  const out: string[] = [];
  for (const t of INDEX_TABLES) {
    const r = await db.query<{ row: string }>(`select '${t}' || (x.*)::text as row from ${t} x order by 1`);
    out.push(...r.rows.map((x) => x.row));
  }
  return out;
}

async function rowCounts(db: Db): Promise<number> {
  let total = 0;
  for (const t of INDEX_TABLES) {
    const r = await db.query<{ n: number }>(`select count(*)::int as n from ${t}`);
    total += r.rows[0]?.n ?? 0;
  }
  return total;
}

for (const kind of testDatabases) {
  describe(`indexing (${kind})`, () => {
    let t: TestDb;
    before(async () => {
      t = await openTestDb(kind);
      await seed(t.db, searchFixtures);
    });
    after(async () => t.close());

    test('one statement per call, for many resources; re-indexing replaces rows', async () => {
      const before = await rowCounts(t.db);
      const items = searchFixtures.map((r) => ({
        resourceType: r.resourceType,
        id: r.id,
        resource: r,
        personId: null,
      }));
      await t.db.transaction(async (tx) => {
        const c = counting(tx);
        await indexResources(c.db, items);
        assert.equal(c.count(), 1);
      });
      assert.equal(await rowCounts(t.db), before);
      const personless = await t.db.query<{ n: number }>(
        "select count(*)::int as n from search_token where person_id is not null and resource_type = 'Observation'",
      );
      assert.equal(personless.rows[0]?.n, 0);
    });

    test('rows extracted ahead of the transaction (rowsOf) are written as those extracted in it', async () => {
      const items = searchFixtures.map((r, n) => ({
        resourceType: r.resourceType,
        id: r.id,
        resource: r,
        personId: `person-${n % 3}`,
      }));
      await t.db.transaction((tx) => indexResources(tx, items));
      const inTransaction = await dump(t.db);
      assert.ok(inTransaction.some((row) => row.includes('person-2')));
      const ahead = items.map((it) => ({ ...it, rows: searchIndexer.rowsOf(it.resource) }));
      await t.db.transaction((tx) => indexResources(tx, ahead));
      assert.deepEqual(await dump(t.db), inTransaction);
    });

    test('an updated resource loses its old values; removeIndexes clears it', async () => {
      const p = { resourceType: 'Patient', id: 'tmp1', name: [{ family: 'Old' }], gender: 'male' };
      await t.db.query(
        "insert into resource (resource_type, id, version_id, last_updated, content) values ('Patient', 'tmp1', 1, now(), $1)",
        [JSON.stringify(p)],
      );
      await indexResources(t.db, [{ resourceType: 'Patient', id: 'tmp1', resource: p, personId: 'tmp1' }]);
      assert.deepEqual(await findIds(t.db, 'Patient', 'family=old'), ['tmp1']);
      const p2 = { ...p, name: [{ family: 'New' }] };
      await indexResources(t.db, [{ resourceType: 'Patient', id: 'tmp1', resource: p2, personId: 'tmp1' }]);
      assert.deepEqual(await findIds(t.db, 'Patient', 'family=old'), []);
      assert.deepEqual(await findIds(t.db, 'Patient', 'Patient?family=new'), ['tmp1']);
      await removeIndexes(t.db, 'Patient', ['tmp1']);
      assert.deepEqual(await findIds(t.db, 'Patient', 'family=new'), []);
      const left = await t.db.query<{ n: number }>(
        "select count(*)::int as n from search_token where resource_id = 'tmp1'",
      );
      assert.equal(left.rows[0]?.n, 0);
      await t.db.query("delete from resource where id = 'tmp1'");
    });

    test('findIds: strict, needs criteria, at most `limit` ids; deleted resources never match', async () => {
      assert.deepEqual(await findIds(t.db, 'Patient', 'identifier=https://fhir.nhs.uk/Id/nhs-number|9990000018'), [
        'p1',
      ]);
      assert.equal((await findIds(t.db, 'Patient', 'family=sm')).length, 2);
      assert.equal((await findIds(t.db, 'Patient', 'family=sm', 1)).length, 1);
      await assert.rejects(findIds(t.db, 'Patient', 'nope=1'), { code: 'ICR_UNKNOWN_SEARCH_PARAM' });
      await assert.rejects(findIds(t.db, 'Patient', ''), { code: 'ICR_INVALID_SEARCH' });
      await t.db.query("update resource set deleted = true where resource_type = 'Patient' and id = 'p3'");
      assert.deepEqual(await findIds(t.db, 'Patient', 'family=jones'), []);
      await t.db.query("update resource set deleted = false where resource_type = 'Patient' and id = 'p3'");
    });

    test('reindexAll rebuilds from resource in batches and drops stale rows', async () => {
      const expected = await rowCounts(t.db);
      for (const table of INDEX_TABLES) await t.db.query(`delete from ${table}`);
      await t.db.query(
        "insert into search_token (resource_type, resource_id, param, code) values ('Patient', 'ghost', 'gender', 'male')",
      );
      const progress: number[] = [];
      const summary = await reindexAll(t.db, (p) => progress.push(p.done), 4);
      assert.equal(summary.resources, searchFixtures.length);
      assert.equal(summary.orphansRemoved, 1);
      assert.deepEqual(progress.slice(0, 3), [4, 8, 12]);
      assert.equal(await rowCounts(t.db), expected);
      assert.deepEqual(await findIds(t.db, 'Patient', 'gender=male'), ['p2']);
    });
  });
}
