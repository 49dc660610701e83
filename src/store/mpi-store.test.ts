import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openTestDb, testDatabases } from '../../test/helpers/db.ts';
import type { Db } from './db.ts';
import {
  candidatesByBlocks,
  candidatesByBlocksSet,
  commonBlockKeys,
  insertNewLink,
  insertNewLinks,
  linksByIdentifiers,
  linksByNhsNumber,
  linksByNhsNumbers,
  linksBySourceIdentifiers,
  linksFor,
  type NewLink,
  replaceBlocks,
  replaceKeys,
  updateLinkRecord,
  updateLinkRecords,
} from './mpi-store.ts';
import { createPersons, getPersons, insertPersons } from './mpi-store-person.ts';
import { moveClinicalRows, moveClinicalRowsMany } from './mpi-store-move.ts';

const NOW = '2026-01-02T03:04:05.000Z';

function link(patientId: string, personId: string, extra: Partial<NewLink> = {}): NewLink {
  return {
    patientId,
    personId,
    kind: 'new',
    method: 'none',
    createdBy: 'test',
    record: { id: 'source|1', given: 'ann', family: 'smith', nhsNumber: '9990000018', nhsVerified: true },
    ...extra,
  };
}

async function rowsOf(db: Db, patientId: string): Promise<unknown> {
  const l = await db.query(
    `select person_id, kind, method, score, vector, rule_version, created_by, reason, at, record, nhs_number,
            nhs_verified, source, retired_into
       from person_link where patient_id = $1`,
    [patientId],
  );
  const i = await db.query('select system, value from person_identifier where patient_id = $1 order by 1, 2', [
    patientId,
  ]);
  const b = await db.query('select key from person_block where patient_id = $1 order by 1', [patientId]);
  return { link: l.rows, identifiers: i.rows, blocks: b.rows };
}

for (const kind of testDatabases) {
  describe(`MPI store set inserts (${kind})`, () => {
    it('insertNewLinks and insertPersons write the rows insertNewLink and the person functions write', async () => {
      const t = await openTestDb(kind);
      try {
        await insertPersons(
          t.db,
          [
            { id: 'p1', golden: { authority: 'source' }, conflicts: [], restricted: false },
            { id: 'p2', golden: {}, conflicts: [{ field: 'sex' }], restricted: true },
          ],
          NOW,
        );
        const persons = await getPersons(t.db, ['p1', 'p2']);
        assert.deepEqual(persons.get('p1')?.golden, { authority: 'source' });
        assert.equal(persons.get('p2')?.restricted, true);
        const conflicted = await t.db.query<{ id: string }>('select id from person where has_conflicts');
        assert.deepEqual(
          conflicted.rows.map((r) => r.id),
          ['p2'],
        );

        const ids = [
          { system: 'https://a.example/mrn', value: '1' },
          { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9990000018' },
        ];
        const extra: Partial<NewLink> = { score: 17.5, vector: { given: { level: 'exact' } }, ruleVersion: 'v1' };
        await insertNewLink(t.db, link('a', 'p1', extra), ids, ['src:a', 'dob:1990|0101'], NOW);
        await insertNewLinks(
          t.db,
          [
            { link: link('b', 'p1', extra), identifiers: ids, blocks: ['src:b', 'dob:1990|0101'] },
            { link: link('c', 'p2', { source: 'pds' }), identifiers: [], blocks: ['src:c'] },
          ],
          NOW,
        );
        const a = (await rowsOf(t.db, 'a')) as { blocks: Array<{ key: string }> };
        const b = (await rowsOf(t.db, 'b')) as { blocks: Array<{ key: string }> };
        assert.deepEqual(
          { ...b, blocks: b.blocks.map((r) => r.key.replace('src:b', 'src:a')) },
          { ...a, blocks: a.blocks.map((r) => r.key) },
        );
        const c = (await rowsOf(t.db, 'c')) as { link: Array<{ source: string; score: unknown }> };
        assert.equal(c.link[0]?.source, 'pds');
        assert.equal(c.link[0]?.score, null);
      } finally {
        await t.close();
      }
    });

    it('the set reads find what the single reads find, per request', async () => {
      const t = await openTestDb(kind);
      try {
        await insertPersons(
          t.db,
          ['p1', 'p2', 'p3'].map((id) => ({ id, golden: {}, conflicts: [], restricted: false })),
          NOW,
        );
        const mrn = (v: string) => ({ system: 'https://a.example/mrn', value: v });
        const nhs = (v: string) => ({ system: 'https://fhir.nhs.uk/Id/nhs-number', value: v });
        await insertNewLinks(
          t.db,
          [
            { link: link('a', 'p1'), identifiers: [mrn('1'), nhs('9990000018')], blocks: ['k1', 'k2', 'k3', 'common'] },
            { link: link('b', 'p2'), identifiers: [mrn('2')], blocks: ['k1', 'k2', 'common'] },
            { link: link('c', 'p3'), identifiers: [mrn('3')], blocks: ['k3', 'common', 'nhs:x'] },
          ],
          NOW,
        );
        const common = await commonBlockKeys(t.db, ['k1', 'k2', 'common', 'nhs:x', 'none'], 2);
        assert.deepEqual([...common], ['common']);

        const requests = [
          { patientId: 'new', keys: ['k1', 'k2', 'k3'] },
          { patientId: 'a', keys: ['k1', 'k3'] },
          { patientId: 'z', keys: ['nothing'] },
        ];
        const set = await candidatesByBlocksSet(t.db, requests, { limit: 2 });
        const single = await Promise.all(
          requests.map((r) =>
            candidatesByBlocks(t.db, r.keys, { limit: 2, maxPerKey: 10, exceptPatientId: r.patientId }),
          ),
        );
        assert.deepEqual(set, single);
        assert.deepEqual(
          set.map((cs) => cs.map((c) => `${c.patientId}:${c.shared}`)),
          [['a:3', 'b:2'], ['b:1', 'c:1'], []],
        );

        const byId = await linksBySourceIdentifiers(t.db, [mrn('1'), mrn('2'), mrn('9')]);
        assert.deepEqual(
          byId.map((l) => `${l.patientId}:${l.value}`),
          ['a:1', 'b:2'],
        );
        assert.deepEqual(
          byId.map((l) => l.patientId),
          (await linksByIdentifiers(t.db, [mrn('1'), mrn('2')])).map((l) => l.patientId).sort(),
        );
        assert.deepEqual(
          await linksByNhsNumbers(t.db, ['9990000018', '9990000026']),
          await linksByNhsNumber(t.db, '9990000018'),
        );

        const record = { id: 'source|1', given: 'bea', nhsNumber: '9990000026', nhsVerified: true };
        await updateLinkRecord(t.db, 'a', record);
        await updateLinkRecords(t.db, [{ patientId: 'b', record }]);
        const links = await linksFor(t.db, ['a', 'b']);
        const {
          patientId: _a,
          personId: _p1,
          ...fromSingle
        } = links.get('a') as NonNullable<ReturnType<typeof links.get>>;
        const {
          patientId: _b,
          personId: _p2,
          ...fromSet
        } = links.get('b') as NonNullable<ReturnType<typeof links.get>>;
        assert.deepEqual({ ...fromSet, method: '', at: '' }, { ...fromSingle, method: '', at: '' });
        assert.equal(fromSet.nhsNumber, '9990000026');
      } finally {
        await t.close();
      }
    });

    it('person_block_count holds how many records hold each key, through inserts, refreshes and removals', async () => {
      const t = await openTestDb(kind);
      try {
        const counted = async () =>
          (await t.db.query<{ key: string; n: number }>('select key, n from person_block_count order by key')).rows.map(
            (r) => `${r.key}:${r.n}`,
          );
        const actual = async () =>
          (
            await t.db.query<{ key: string; n: number }>(
              'select key, count(*)::int as n from person_block group by key order by key',
            )
          ).rows.map((r) => `${r.key}:${r.n}`);
        await insertPersons(
          t.db,
          ['p1', 'p2', 'p3'].map((id) => ({ id, golden: {}, conflicts: [], restricted: false })),
          NOW,
        );
        await insertNewLinks(
          t.db,
          [
            { link: link('a', 'p1'), identifiers: [], blocks: ['k1', 'k2', 'common'] },
            { link: link('b', 'p2'), identifiers: [], blocks: ['k1', 'common', 'common'] },
          ],
          NOW,
        );
        await insertNewLink(t.db, link('c', 'p3'), [], ['common', 'k3'], NOW);
        assert.deepEqual(await counted(), ['common:3', 'k1:2', 'k2:1', 'k3:1']);
        // A refresh that keeps some keys, drops one and adds one; a key inserted again changes nothing.
        await replaceKeys(t.db, [
          { patientId: 'a', identifiers: [], blocks: ['k1', 'k4', 'common'] },
          { patientId: 'b', identifiers: [], blocks: ['k1', 'common'] },
        ]);
        await replaceBlocks(t.db, 'c', ['k3', 'k4']);
        assert.deepEqual(await counted(), ['common:2', 'k1:2', 'k3:1', 'k4:2']);
        assert.deepEqual(await counted(), await actual());
        // Too common by the kept count: more than maxPerKey records.
        assert.deepEqual([...(await commonBlockKeys(t.db, ['k1', 'k3', 'k4', 'common', 'none'], 1))].sort(), [
          'common',
          'k1',
          'k4',
        ]);
        await t.db.query("delete from person_block where patient_id in ('a', 'c')");
        assert.deepEqual(await counted(), ['common:1', 'k1:1']);
        assert.deepEqual(await counted(), await actual());
      } finally {
        await t.close();
      }
    });

    it('createPersons uses each preferred id when free, else a fallback id', async () => {
      const t = await openTestDb(kind);
      try {
        await insertPersons(t.db, [{ id: 'taken', golden: {}, conflicts: [], restricted: false }], NOW);
        let n = 0;
        const ids = await createPersons(t.db, ['x', 'taken', 'y', 'x'], () => `f${++n}`, NOW);
        assert.deepEqual(ids, ['x', 'f1', 'y', 'f2']);
        assert.equal((await getPersons(t.db, ids)).size, 4);
        const [g] = await createPersons(t.db, ['g'], () => 'unused', NOW, [
          { golden: { authority: 'source' }, conflicts: [{ field: 'sex' }], restricted: true },
        ]);
        const withGolden = (await getPersons(t.db, [g as string])).get('g');
        assert.deepEqual(
          [withGolden?.golden, withGolden?.conflicts, withGolden?.restricted],
          [{ authority: 'source' }, [{ field: 'sex' }], true],
        );
        assert.deepEqual((await t.db.query('select id from person where has_conflicts')).rows, [{ id: 'g' }]);
      } finally {
        await t.close();
      }
    });

    it('moveClinicalRowsMany moves the rows moveClinicalRows moves, each to its own person', async () => {
      const t = await openTestDb(kind);
      try {
        const rows = ['r1', 'r2', 'r3'].map((id, n) => ({ id, patient: `pat${n + 1}` }));
        for (const r of rows) {
          await t.db.query(
            `insert into resource (resource_type, id, version_id, last_updated, content, patient_id, person_id)
             values ('Observation', $1, 1, $3, '{}', $2, $2)`,
            [r.id, r.patient, NOW],
          );
        }
        assert.equal(await moveClinicalRows(t.db, ['pat1'], 'one'), 1);
        assert.equal(
          await moveClinicalRowsMany(t.db, [
            { patientId: 'pat2', personId: 'two' },
            { patientId: 'pat3', personId: 'three' },
          ]),
          2,
        );
        const res = await t.db.query<{ id: string; person_id: string }>(
          'select id, person_id from resource order by id',
        );
        assert.deepEqual(
          res.rows.map((r) => `${r.id}:${r.person_id}`),
          ['r1:one', 'r2:two', 'r3:three'],
        );
        assert.equal(await moveClinicalRowsMany(t.db, [{ patientId: 'pat2', personId: 'two' }]), 0);
      } finally {
        await t.close();
      }
    });
  });
}
