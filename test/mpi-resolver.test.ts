/**
 * The MPI as the resource store's PersonResolver: Observations that arrive before their Patient,
 * Patients stored before the MPI was switched on, several Patients of one person in one batch.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mpiPersonResolver } from '../src/records/mpi/person-resolver.ts';
import { ResourceStore } from '../src/store/resource-store.ts';
import { openTestDb, testDatabases, type TestDb } from './helpers/db.ts';
import { mpiRig, observation, patient, type MpiRig } from './mpi-fixtures.ts';

const noIndex = { async index() {}, async remove() {} };

for (const which of testDatabases) {
  describe(`MPI person resolver (${which})`, () => {
    let t: TestDb;
    let rig: MpiRig;
    before(async () => {
      t = await openTestDb(which);
      rig = mpiRig(t.db);
    });
    after(async () => t?.close());

    it('rows written before their Patient move with it when it links to another person', async () => {
      await rig.write([
        patient({
          id: 'o1',
          family: 'Owen',
          given: 'Olive',
          birthDate: '1940-10-10',
          gender: 'female',
          postcode: 'CF1 1AA',
        }),
      ]);
      await rig.write([observation('o2-obs', 'o2')]);
      assert.deepEqual(
        (await rig.personIdsOfRows('o2')).map((r) => r.person_id),
        ['o2'],
      );
      await rig.write([
        patient({
          id: 'o2',
          family: 'Owen',
          given: 'Olive',
          birthDate: '1940-10-10',
          gender: 'female',
          postcode: 'CF1 1AA',
        }),
      ]);
      assert.equal(await rig.personOf('o2'), 'o1');
      assert.deepEqual(
        (await rig.personIdsOfRows('o2')).map((r) => r.person_id),
        ['o1', 'o1'],
      );
    });

    it('a Patient stored before the MPI is matched on its stored version when its data arrives', async () => {
      const plain = new ResourceStore({ indexer: noIndex });
      await t.db.transaction((tx) =>
        plain.put(tx, [{ resource: patient({ id: 'pre1', family: 'Early', given: 'Eve', birthDate: '1933-03-03' }) }]),
      );
      const mpiStore = new ResourceStore({ indexer: noIndex, persons: mpiPersonResolver(rig.ctx) });
      await t.db.transaction((tx) => mpiStore.put(tx, [{ resource: observation('pre1-obs', 'pre1') }]));
      assert.equal(await rig.personOf('pre1'), 'pre1');
      const view = await rig.service.person('pre1');
      assert.equal(view.links[0]?.kind, 'new');
    });

    it('two records of one person in one batch get one person', async () => {
      await rig.write([
        patient({
          id: 'b1',
          family: 'Batch',
          given: 'Betty',
          birthDate: '1921-02-02',
          gender: 'female',
          postcode: 'SA1 1AA',
        }),
        patient({
          id: 'b2',
          family: 'Batch',
          given: 'Betty',
          birthDate: '1921-02-02',
          gender: 'female',
          postcode: 'SA1 1AA',
        }),
        observation('b2-obs', 'b2'),
      ]);
      assert.equal(await rig.personOf('b2'), 'b1');
      assert.deepEqual(
        (await rig.personIdsOfRows('b2')).map((r) => r.person_id),
        ['b1', 'b1'],
      );
    });

    it('concurrent writers of the same verified NHS number end in one person', async () => {
      const a = patient({
        id: 'cc1',
        nhs: '9990000034',
        verified: true,
        family: 'Con',
        given: 'Cur',
        birthDate: '1911-11-11',
      });
      const b = patient({
        id: 'cc2',
        nhs: '9990000034',
        verified: true,
        family: 'Con',
        given: 'Cur',
        birthDate: '1911-11-11',
      });
      await Promise.all([rig.write([a]), rig.write([b])]);
      assert.equal(await rig.personOf('cc1'), await rig.personOf('cc2'));
    });

    it('many new Patients in one write transaction', async () => {
      const families = ['Adams', 'Baker', 'Clark', 'Davis', 'Evans', 'Frost', 'Green', 'Hughes', 'Irwin', 'James'];
      const suffixes = ['son', 'ley', 'ford', 'wood', 'ton'];
      const givens = ['Amy', 'Ben', 'Cal', 'Dee', 'Eli', 'Fay', 'Gus', 'Hal', 'Ivy', 'Jo'];
      const batch = Array.from({ length: 200 }, (_, i) =>
        patient({
          id: `bulk${i}`,
          family: `${families[i % 10]}${suffixes[Math.floor(i / 10) % 5]}${String.fromCharCode(65 + Math.floor(i / 50))}`,
          given: givens[Math.floor(i / 20) % 10],
          birthDate: `19${String(10 + (i % 80)).padStart(2, '0')}-0${1 + (i % 9)}-${String(1 + (i % 28)).padStart(2, '0')}`,
          gender: i % 2 ? 'male' : 'female',
        }),
      );
      const started = performance.now();
      await rig.write(batch);
      const ms = performance.now() - started;
      const persons = await t.db.query<{ n: number }>(
        `select count(distinct person_id)::int as n from person_link where patient_id like 'bulk%'`,
      );
      assert.equal(persons.rows[0]?.n, 200);
      assert.ok(ms < 60_000, `200 new Patients took ${Math.round(ms)} ms`);
    });
  });
}
