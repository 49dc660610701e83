/**
 * Concurrent writers of one person (issue 13, ADR 0036): two feeds sending records of the same person at
 * the same moment, each in its own transaction (on PostgreSQL, on connections of their own), never make two
 * persons and never lose a link. The MPI takes advisory locks on a set's identifiers and blocking keys in a
 * statement of their own before it reads anything, so the second writer waits for the first to commit and
 * then reads what it wrote. On PGlite (one connection) the transactions run one after the other; the same
 * assertions hold.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestDb, testDatabases, type TestDb } from './helpers/db.ts';
import { mpiRig, patient, type MpiRig, type Patient } from './mpi-fixtures.ts';

/** A Modulus-11-valid NHS number in the 999 test range from a serial. */
function nhsNumber(serial: number): string {
  for (let s = serial; ; s++) {
    const body = `999${String(s).padStart(6, '0')}`;
    let sum = 0;
    for (let i = 0; i < body.length; i++) sum += Number(body.charAt(i)) * (10 - i);
    const check = 11 - (sum % 11);
    if (check === 10) continue;
    return body + String(check === 11 ? 0 : check);
  }
}

const FAMILIES = ['Okafor', 'Nowak', 'Patel', 'Murphy', 'Hughes', 'Khan', 'Evans', 'Ahmed', 'Walsh', 'Singh'];
const GIVENS = ['Ada', 'Bilal', 'Cerys', 'Dmitri', 'Eimear', 'Farah', 'Gethin', 'Hana', 'Idris', 'Jovana'];

function person(n: number, tag: string) {
  return {
    family: `${FAMILIES[n % FAMILIES.length]}${tag}`,
    given: GIVENS[Math.floor(n / FAMILIES.length) % GIVENS.length],
    birthDate: `19${String(30 + n).padStart(2, '0')}-0${1 + (n % 9)}-1${n % 10}`,
    gender: n % 2 ? 'male' : 'female',
    postcode: `LS${n + 1} 2AB`,
    line: `${n + 3} Park Row`,
  };
}

for (const which of testDatabases) {
  describe(`MPI concurrent writers of one person (${which})`, () => {
    let t: TestDb;
    let rig: MpiRig;
    before(async () => {
      t = await openTestDb(which);
      rig = mpiRig(t.db);
    });
    after(async () => t?.close());

    /** The persons of these source records, and how many links and create/link events each person has. */
    async function outcome(ids: readonly string[]) {
      const links = await t.db.query<{ patient_id: string; person_id: string }>(
        'select patient_id, person_id from person_link where patient_id = any($1::text[])',
        [ids],
      );
      const persons = [...new Set(links.rows.map((r) => r.person_id))];
      const perPerson = await t.db.query<{ person_id: string; links: number; events: number }>(
        `select p.id as person_id,
                (select count(*)::int from person_link l where l.person_id = p.id) as links,
                (select count(*)::int from mpi_event e where e.person_id = p.id and e.kind in ('create', 'link')) as events
           from person p where p.id = any($1::text[])`,
        [persons],
      );
      return { links: new Map(links.rows.map((r) => [r.patient_id, r.person_id])), perPerson: perPerson.rows };
    }

    it('the same verified NHS number from two feeds at once: one person and both links, for every person', async () => {
      const people = 12;
      const writes: Array<Promise<void>> = [];
      const ids: string[] = [];
      for (let n = 0; n < people; n++) {
        const nhs = nhsNumber(400_000 + n * 7);
        const who = person(n, 'Vv');
        // The GP practice and the hospital, each a transaction of its own, all in flight together.
        for (const [feed, system] of [
          ['gp', 'https://gp.example/Id/patient'],
          ['hosp', 'https://hospital.example/Id/mrn'],
        ] as const) {
          const id = `${feed}-v${n}`;
          ids.push(id);
          writes.push(rig.write([patient({ id, nhs, verified: true, mrn: `${feed}${n}`, mrnSystem: system, ...who })]));
        }
      }
      await Promise.all(writes);
      const { links, perPerson } = await outcome(ids);
      assert.equal(links.size, ids.length, 'every record is linked');
      for (let n = 0; n < people; n++) {
        assert.ok(links.get(`gp-v${n}`), `gp-v${n} linked`);
        assert.equal(links.get(`gp-v${n}`), links.get(`hosp-v${n}`), `person ${n}: one person for both feeds`);
      }
      assert.equal(perPerson.length, people, 'one person per NHS number, none more');
      for (const p of perPerson) {
        assert.equal(p.links, 2, `${p.person_id}: both links kept`);
        assert.equal(p.events, 2, `${p.person_id}: one create and one link event`);
      }
    });

    it('the same person without an NHS number from two feeds at once (probabilistic): one person', async () => {
      const people = 8;
      const writes: Array<Promise<void>> = [];
      const ids: string[] = [];
      for (let n = 0; n < people; n++) {
        const who = person(n + 40, 'Pp');
        for (const feed of ['care', 'amb']) {
          const id = `${feed}-p${n}`;
          ids.push(id);
          writes.push(
            rig.write([patient({ id, mrn: `${feed}${n}`, mrnSystem: `https://${feed}.example/Id/person`, ...who })]),
          );
        }
      }
      await Promise.all(writes);
      const { links, perPerson } = await outcome(ids);
      assert.equal(links.size, ids.length, 'every record is linked');
      for (let n = 0; n < people; n++)
        assert.equal(links.get(`care-p${n}`), links.get(`amb-p${n}`), `person ${n}: one person for both feeds`);
      assert.equal(perPerson.length, people);
      for (const p of perPerson) assert.equal(p.links, 2, `${p.person_id}: both links kept`);
    });

    it('two sets holding the same people in opposite orders, at once: no deadlock, one person each', async () => {
      const people = 10;
      const a: Patient[] = [];
      const b: Patient[] = [];
      for (let n = 0; n < people; n++) {
        const nhs = nhsNumber(500_000 + n * 11);
        const who = person(n + 20, 'Xx');
        a.push(patient({ id: `xa${n}`, nhs, verified: true, mrn: `xa${n}`, ...who }));
        b.push(
          patient({ id: `xb${n}`, nhs, verified: true, mrn: `xb${n}`, mrnSystem: 'https://b.example/mrn', ...who }),
        );
      }
      await Promise.all([rig.write(a), rig.write([...b].reverse())]);
      const { links, perPerson } = await outcome([...a, ...b].map((p) => p.id));
      for (let n = 0; n < people; n++) assert.equal(links.get(`xa${n}`), links.get(`xb${n}`), `person ${n}`);
      assert.equal(perPerson.length, people);
    });

    it('a record of a person being written by an open transaction waits for it, then links to that person', async () => {
      const nhs = nhsNumber(600_000);
      const who = person(63, 'Ww');
      let release: () => void = () => undefined;
      const held = new Promise<void>((r) => (release = r));
      let firstWritten: () => void = () => undefined;
      const written = new Promise<void>((r) => (firstWritten = r));
      // The first feed's transaction writes its record and stays open.
      const first = t.db.transaction(async (tx) => {
        await rig.store.put(tx, [{ resource: patient({ id: 'w-first', nhs, verified: true, mrn: 'w1', ...who }) }]);
        firstWritten();
        await held;
      });
      await written;
      // The second feed's record of the same person, in its own transaction.
      let secondDone = false;
      const second = rig
        .write([
          patient({ id: 'w-second', nhs, verified: true, mrn: 'w2', mrnSystem: 'https://b.example/mrn', ...who }),
        ])
        .then(() => {
          secondDone = true;
        });
      await new Promise((r) => setTimeout(r, 300));
      const waited = !secondDone;
      release();
      await Promise.all([first, second]);
      assert.ok(waited, 'the second writer waits while the first is open');
      const { links, perPerson } = await outcome(['w-first', 'w-second']);
      assert.equal(links.get('w-second'), links.get('w-first'));
      assert.equal(perPerson.length, 1);
      assert.equal(perPerson[0]?.links, 2);
    });
  });
}
