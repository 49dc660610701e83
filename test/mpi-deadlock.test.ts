/**
 * Concurrent FHIR PUTs of Patients whose demographics cross (issue 13, ADR 0054): record A takes the details
 * of record B while record B takes those of A, at the same moment. Each refresh deletes the blocking keys its
 * record lost and inserts those it gained; the statement-level triggers of `person_block_count` (migration
 * 0026) lock the count rows of those keys, and two such writers lock them in opposite orders. PostgreSQL
 * detects the deadlock and aborts one (40P01). A single write owns its transaction, so it is run again
 * (`auditedWrite`): every PUT succeeds, each record keeps its person, and the kept counts still equal
 * `person_block`. On PGlite (one connection) the writes run one after the other; the same assertions hold.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServices } from '../src/compose.ts';
import type { RecordsService } from '../src/records/records-service.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { openTestDb, testDatabases, type TestDb } from './helpers/db.ts';
import { patient } from './mpi-fixtures.ts';

const FAMILIES = ['Okafor', 'Nowak', 'Patel', 'Murphy', 'Hughes', 'Khan', 'Evans', 'Ahmed', 'Walsh', 'Singh'];
const GIVENS = ['Ada', 'Bilal', 'Cerys', 'Dmitri', 'Eimear', 'Farah', 'Gethin', 'Hana', 'Idris', 'Jovana'];

/** Demographics of synthetic person `n` (every blocking key different from another n's). */
function who(n: number) {
  return {
    family: `${FAMILIES[n % FAMILIES.length]}${String.fromCharCode(97 + (n % 26))}x`,
    given: `${GIVENS[n % GIVENS.length]}${String.fromCharCode(97 + ((n * 7) % 26))}`,
    birthDate: `19${String(20 + (n % 70)).padStart(2, '0')}-0${1 + (n % 9)}-1${n % 10}`,
    gender: n % 2 ? 'male' : 'female',
    postcode: `LS${n + 1} ${n % 9}AB`,
    line: `${n + 3} Park Row`,
  };
}

for (const which of testDatabases) {
  describe(`MPI: concurrent PUTs of Patients with crossing demographics (${which})`, () => {
    let t: TestDb;
    let records: RecordsService;
    before(async () => {
      t = await openTestDb(which);
      records = createServices(t.db).records;
    });
    after(async () => t?.close());

    it('every PUT succeeds, each record keeps its person, and the kept counts equal person_block', async () => {
      const pairs = 12;
      const rounds = 3;
      const id = (n: number, side: 'a' | 'b') => `dl-${side}${n}`;
      const mrn = (n: number, side: 'a' | 'b') => ({ mrn: `${side}${n}`, mrnSystem: `https://${side}.example/mrn` });
      for (let n = 0; n < pairs; n++) {
        await records.update(SYSTEM_ACTOR, patient({ id: id(n, 'a'), ...mrn(n, 'a'), ...who(2 * n) }));
        await records.update(SYSTEM_ACTOR, patient({ id: id(n, 'b'), ...mrn(n, 'b'), ...who(2 * n + 1) }));
      }
      const personOf = async () =>
        new Map(
          (
            await t.db.query<{ patient_id: string; person_id: string }>(
              "select patient_id, person_id from person_link where patient_id like 'dl-%'",
            )
          ).rows.map((r) => [r.patient_id, r.person_id]),
        );
      const persons = await personOf();
      assert.equal(persons.size, 2 * pairs);
      for (let round = 1; round <= rounds; round++) {
        // Odd rounds: a takes b's details and b takes a's; even rounds: back again. All PUTs at once.
        const swap = round % 2 === 1;
        const results = await Promise.allSettled(
          Array.from({ length: pairs }, (_, n) => [
            records.update(SYSTEM_ACTOR, patient({ id: id(n, 'a'), ...mrn(n, 'a'), ...who(2 * n + (swap ? 1 : 0)) })),
            records.update(SYSTEM_ACTOR, patient({ id: id(n, 'b'), ...mrn(n, 'b'), ...who(2 * n + (swap ? 0 : 1)) })),
          ]).flat(),
        );
        const failed = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
        assert.deepEqual(failed, [], `round ${round}: every PUT succeeds`);
      }
      assert.deepEqual(await personOf(), persons, 'each record keeps its person');
      const drift = await t.db.query(
        `select coalesce(c.key, b.key) as key, c.n, b.n as actual
           from person_block_count c
           full join (select key, count(*)::int as n from person_block group by key) b on b.key = c.key
          where c.n is distinct from b.n`,
      );
      assert.deepEqual(drift.rows, [], 'person_block_count equals person_block');
      const versions = await t.db.query<{ n: number }>(
        "select count(*)::int as n from resource_version where resource_type = 'Patient' and id like 'dl-%'",
      );
      assert.equal(versions.rows[0]?.n, 2 * pairs * (rounds + 1), 'one version per PUT, none lost or doubled');
    });
  });
}
