import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openTestDb, testDatabases } from '../../test/helpers/db.ts';
import type { Db } from './db.ts';
import { insertNewLink, insertNewLinks, type NewLink } from './mpi-store.ts';
import { getPersons, insertPersons } from './mpi-store-person.ts';

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
  });
}
