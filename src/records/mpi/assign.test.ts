/**
 * Set-based assignment: the records of one set are decided together, each seeing the records before it in
 * the set as already linked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestDb, testDatabases, type TestDb } from '../../../test/helpers/db.ts';
import { mpiRig, type MpiRig, NHS, patient } from '../../../test/mpi-fixtures.ts';
import { decide, decideSet, identifiersOf } from './assign.ts';

for (const which of testDatabases) {
  describe(`MPI set assignment (${which})`, () => {
    let t: TestDb;
    let rig: MpiRig;
    before(async () => {
      t = await openTestDb(which);
      rig = mpiRig(t.db);
    });
    after(async () => t?.close());

    const linkOf = async (id: string) =>
      (
        await t.db.query<{ person_id: string; kind: string; method: string }>(
          'select person_id, kind, method from person_link where patient_id = $1',
          [id],
        )
      ).rows[0];

    it('records of one set that are the same person end in one person, by each rule', async () => {
      const who = { family: 'Setter', given: 'Sally', birthDate: '1950-05-05', gender: 'female', postcode: 'LL1 1AA' };
      await rig.write([
        patient({ id: 'ss1', mrn: 'M1', ...who }),
        patient({ id: 'ss2', mrn: 'M1', family: 'Other', given: 'Name', birthDate: '1960-06-06' }),
        patient({ id: 'ss3', nhs: NHS[4], verified: true, family: 'Nhs', given: 'One', birthDate: '1970-07-07' }),
        patient({
          id: 'ss4',
          nhs: NHS[4],
          verified: true,
          family: 'Nhs',
          given: 'One',
          birthDate: '1970-07-07',
        }),
        patient({ id: 'ss5', ...who }),
        patient({ id: 'ss6', family: 'Nobody', given: 'Else', birthDate: '1999-09-09', gender: 'male' }),
      ]);
      assert.deepEqual(await linkOf('ss1'), { person_id: 'ss1', kind: 'new', method: 'none' });
      assert.deepEqual(await linkOf('ss2'), { person_id: 'ss1', kind: 'deterministic', method: 'source-identifier' });
      assert.deepEqual(await linkOf('ss3'), { person_id: 'ss3', kind: 'new', method: 'none' });
      assert.deepEqual(await linkOf('ss4'), { person_id: 'ss3', kind: 'deterministic', method: 'nhs-number' });
      assert.deepEqual(await linkOf('ss5'), { person_id: 'ss1', kind: 'probabilistic', method: 'probabilistic' });
      assert.deepEqual(await linkOf('ss6'), { person_id: 'ss6', kind: 'new', method: 'none' });
      const events = await t.db.query<{ kind: string; person_id: string }>(
        `select kind, person_id from mpi_event where patient_ids && array['ss1','ss2','ss5']::text[] order by id`,
      );
      assert.deepEqual(
        events.rows.map((e) => `${e.kind}:${e.person_id}`),
        ['create:ss1', 'link:ss1', 'link:ss1'],
      );
    });

    it('decide is decideSet for one record, and a set sees its earlier records', async () => {
      const p = patient({ id: 'dd1', family: 'Setter', given: 'Sally', birthDate: '1950-05-05', gender: 'female' });
      const q = patient({ id: 'dd2', family: 'Setter', given: 'Sally', birthDate: '1950-05-05', gender: 'female' });
      const entry = (x: typeof p) => {
        const record = rig.ctx.engine.record(x);
        return { patientId: x.id, record, identifiers: identifiersOf(x), blocks: rig.ctx.engine.blockingKeys(record) };
      };
      await t.db
        .transaction(async (tx) => {
          const single = await decide(tx, rig.ctx, 'dd1', entry(p).record, entry(p).identifiers);
          const [fromSet] = await decideSet(tx, rig.ctx, [entry(p)]);
          assert.deepEqual({ ...fromSet, reviews: [] }, { ...single, reviews: [] });
          const both = await decideSet(tx, rig.ctx, [entry(p), entry(q)]);
          assert.equal(both[1]?.personId, both[0]?.personId === '' ? '' : both[0]?.personId);
          if (both[0]?.personId === '') assert.equal(both[1]?.founder, 0);
          await tx.query('rollback');
        })
        .catch(() => undefined);
    });
  });
}
