/**
 * MPI persistence and operations on PGlite (and PostgreSQL when ICR_TEST_DATABASE_URL is set):
 * deterministic and probabilistic assignment at write time, manual decisions, unlink, merge, reviews.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestDb, testDatabases, type TestDb } from './helpers/db.ts';
import { mpiRig, NHS, observation, patient, STEWARD, type MpiRig } from './mpi-fixtures.ts';

const alice = {
  family: 'Smith',
  given: 'Alice',
  birthDate: '1956-04-09',
  gender: 'female',
  postcode: 'LS1 4AP',
  line: '12 Park Row',
};

for (const which of testDatabases) {
  describe(`MPI linking (${which})`, () => {
    let t: TestDb;
    let rig: MpiRig;
    before(async () => {
      t = await openTestDb(which);
      rig = mpiRig(t.db);
    });
    after(async () => t?.close());

    it('links a verified (01) NHS number deterministically, and a new record founds its own person', async () => {
      await rig.write([
        patient({ id: 'd1', nhs: NHS[0], verified: true, family: 'Jones', given: 'Bob', birthDate: '1970-01-01' }),
      ]);
      assert.equal(await rig.personOf('d1'), 'd1');
      // Same verified number, a short form of the given name and a changed surname: linked on the number,
      // because the date of birth and the names agree with it.
      await rig.write([
        patient({ id: 'd2', nhs: NHS[0], verified: true, family: 'Brown', given: 'Robert', birthDate: '1970-01-01' }),
      ]);
      assert.equal(await rig.personOf('d2'), 'd1');
      const view = await rig.service.person('d1');
      const d2 = view.links.find((l) => l.patientId === 'd2');
      assert.equal(d2?.kind, 'deterministic');
      assert.equal(d2?.method, 'nhs-number');
      assert.ok(view.events.some((e) => e.kind === 'link' && e.patientIds.includes('d2')));
    });

    it('a verified NHS number whose date of birth disagrees goes to review with the reason, never a link', async () => {
      // Hazard: one record carries another person's verified NHS number (date of birth ten years apart).
      await rig.write([
        patient({ id: 'w1', nhs: NHS[8], verified: true, family: 'Wrong', given: 'Walter', birthDate: '1970-01-01' }),
      ]);
      await rig.write([
        patient({ id: 'w2', nhs: NHS[8], verified: true, family: 'Brown', given: 'Robert', birthDate: '1980-05-05' }),
      ]);
      assert.equal(await rig.personOf('w2'), 'w2');
      const item = (await rig.service.reviews()).find((r) => r.review.patientId === 'w2');
      assert.equal(item?.review.candidateId, 'w1');
      assert.ok(item?.review.reasons.includes('nhs-number-birth-date-disagrees'), String(item?.review.reasons));
    });

    it('a verified NHS number with a different sex goes to review with the reason, never a link', async () => {
      await rig.write([
        patient({
          id: 'sx1',
          nhs: NHS[6],
          verified: true,
          family: 'Sexton',
          given: 'Sam',
          birthDate: '1970-01-01',
          gender: 'male',
        }),
      ]);
      await rig.write([
        patient({
          id: 'sx2',
          nhs: NHS[6],
          verified: true,
          family: 'Sexton',
          given: 'Sam',
          birthDate: '1970-01-01',
          gender: 'female',
        }),
      ]);
      assert.equal(await rig.personOf('sx2'), 'sx2');
      const item = (await rig.service.reviews()).find((r) => r.review.patientId === 'sx2');
      assert.ok(item?.review.reasons.includes('nhs-number-sex-disagrees'), String(item?.review.reasons));
    });

    it('the same NHS number, unverified, links when the date of birth agrees up to a swap or one digit', async () => {
      await rig.write([
        patient({
          id: 'nv1',
          nhs: NHS[7],
          verified: true,
          family: 'Okafor',
          given: 'Chukwuemeka',
          birthDate: '1985-03-07',
          gender: 'male',
          postcode: 'LS6 2AB',
        }),
      ]);
      // Social care: unverified number, the short form of the name, day and month swapped, moved house.
      await rig.write([
        patient({
          id: 'nv2',
          nhs: NHS[7],
          verified: false,
          family: 'Okafor',
          given: 'Emeka',
          birthDate: '1985-07-03',
          gender: 'male',
          postcode: 'BD7 1XY',
          line: '3 Other Street',
        }),
      ]);
      assert.equal(await rig.personOf('nv2'), 'nv1');
      // Ambulance: unverified number, one digit wrong in the date of birth.
      await rig.write([
        patient({ id: 'nv3', nhs: NHS[7], verified: false, family: 'Okafor', given: 'C', birthDate: '1985-03-08' }),
      ]);
      assert.equal(await rig.personOf('nv3'), 'nv1');
    });

    it('does not link an unverified NHS number on the number alone', async () => {
      await rig.write([
        patient({
          id: 'u1',
          nhs: NHS[1],
          verified: true,
          family: 'Green',
          given: 'Carol',
          birthDate: '1960-02-02',
          gender: 'female',
        }),
      ]);
      await rig.write([
        patient({
          id: 'u2',
          nhs: NHS[1],
          verified: false,
          family: 'White',
          given: 'Dora',
          birthDate: '1990-03-03',
          gender: 'female',
        }),
      ]);
      assert.notEqual(await rig.personOf('u2'), await rig.personOf('u1'));
      const link = (await rig.service.person((await rig.personOf('u2')) as string)).links[0];
      assert.notEqual(link?.kind, 'deterministic');
    });

    it('sends an unverified NHS number with weaker demographics to the review queue', async () => {
      await rig.write([
        patient({
          id: 'r1',
          nhs: NHS[2],
          verified: true,
          family: 'Black',
          given: 'Edith',
          birthDate: '1949-12-12',
          gender: 'female',
        }),
      ]);
      await rig.write([
        patient({
          id: 'r2',
          nhs: NHS[2],
          verified: false,
          family: 'Black',
          given: 'Mary',
          birthDate: '1949-12-12',
          gender: 'female',
        }),
      ]);
      assert.notEqual(await rig.personOf('r2'), await rig.personOf('r1'));
      const open = await rig.service.reviews();
      const item = open.find((r) => r.review.patientId === 'r2');
      assert.ok(item, 'a review is opened for r2');
      assert.equal(item.right.patientId, 'r1');
      assert.equal(item.left.record?.family, 'black');
      assert.ok(item.review.vector && typeof item.review.vector === 'object');
      assert.ok(item.review.score > 0);
    });

    it('never links two different valid NHS numbers automatically', async () => {
      await rig.write([patient({ id: 'n1', nhs: NHS[3], verified: true, ...alice, family: 'Grey' })]);
      await rig.write([patient({ id: 'n2', nhs: NHS[4], verified: true, ...alice, family: 'Grey' })]);
      assert.notEqual(await rig.personOf('n2'), await rig.personOf('n1'));
    });

    it('links probabilistically above the upper threshold and stores score, vector and rule version', async () => {
      await rig.write([patient({ id: 'p1', ...alice })]);
      await rig.write([patient({ id: 'p2', ...alice, family: 'Smyth' })]);
      assert.equal(await rig.personOf('p2'), 'p1');
      const link = (await rig.service.person('p1')).links.find((l) => l.patientId === 'p2');
      assert.equal(link?.kind, 'probabilistic');
      assert.ok((link?.score ?? 0) > 15);
      assert.equal(link?.ruleVersion, rig.ctx.engine.ruleVersion);
      assert.ok((link?.vector as Record<string, unknown>).family);
    });

    it('treats the same source identifier as the same source record', async () => {
      await rig.write([patient({ id: 's1', mrn: 'M001', family: 'Hill', given: 'Ann', birthDate: '1930-01-01' })]);
      await rig.write([patient({ id: 's2', mrn: 'M001', family: 'Other', given: 'Name', birthDate: '2001-01-01' })]);
      assert.equal(await rig.personOf('s2'), 's1');
    });

    it('unlink moves the clinical rows back with the source record; automatic matching respects it', async () => {
      await rig.write([
        patient({
          id: 'k1',
          family: 'King',
          given: 'Kate',
          birthDate: '1966-06-06',
          gender: 'female',
          postcode: 'BA1 1AA',
        }),
      ]);
      await rig.write([
        patient({
          id: 'k2',
          family: 'King',
          given: 'Kate',
          birthDate: '1966-06-06',
          gender: 'female',
          postcode: 'BA1 1AA',
        }),
        observation('k2-obs1', 'k2'),
        observation('k2-obs2', 'k2'),
      ]);
      assert.equal(await rig.personOf('k2'), 'k1');
      assert.deepEqual(
        (await rig.personIdsOfRows('k2')).map((r) => r.person_id),
        ['k1', 'k1', 'k1'],
      );

      // A search index row (migration 0002) for one of the Observations, keyed by person like the resource.
      await t.db.query(
        `insert into search_token (resource_type, resource_id, param, person_id, code) values ('Observation', 'k2-obs1', 'code', 'k1', 'x')`,
      );
      const { personId } = await rig.service.unlink(STEWARD, 'k2', 'Twins at the same address');
      const index = await t.db.query<{ person_id: string }>(
        `select person_id from search_token where resource_id = 'k2-obs1'`,
      );
      assert.deepEqual(
        index.rows.map((r) => r.person_id),
        [personId],
      );
      assert.notEqual(personId, 'k1');
      assert.equal(await rig.personOf('k2'), personId);
      assert.deepEqual(
        (await rig.personIdsOfRows('k2')).map((r) => r.person_id),
        [personId, personId, personId],
      );
      assert.deepEqual(
        (await rig.personIdsOfRows('k1')).map((r) => r.person_id),
        ['k1'],
      );
      const versions = await t.db.query<{ person_id: string }>(
        'select distinct person_id from resource_version where patient_id = $1',
        ['k2'],
      );
      assert.deepEqual(
        versions.rows.map((r) => r.person_id),
        [personId],
      );

      // A new version of k2 (and a new record just like it) does not undo the steward's decision.
      await rig.write([
        patient({
          id: 'k2',
          family: 'King',
          given: 'Kate',
          birthDate: '1966-06-06',
          gender: 'female',
          postcode: 'BA1 1AB',
        }),
      ]);
      assert.equal(await rig.personOf('k2'), personId);
      const events = (await rig.service.person(personId)).events;
      const unlink = events.find((e) => e.kind === 'unlink');
      assert.equal(unlink?.actor, 'user:steward1@X26');
      assert.equal(unlink?.reason, 'Twins at the same address');
    });

    it('a manual not-same decision is never overridden by automatic matching', async () => {
      await rig.write([patient({ id: 'ns1', ...alice, family: 'Ward', postcode: 'M1 1AA' })]);
      await rig.write([patient({ id: 'ns2', ...alice, family: 'Ward', postcode: 'M1 1AA' })]);
      assert.equal(await rig.personOf('ns2'), 'ns1');
      await rig.service.notSame(STEWARD, 'ns1', 'ns2', 'Different people: checked with the GP practice');
      assert.notEqual(await rig.personOf('ns2'), 'ns1');
      // The same demographics again under a new source record id that shares ns2's identity: still apart.
      await rig.write([patient({ id: 'ns2', ...alice, family: 'Ward', postcode: 'M1 1AA', mrn: 'W2' })]);
      assert.notEqual(await rig.personOf('ns2'), 'ns1');
      // Even a verified NHS number held by both is not enough to undo a manual decision.
      await rig.write([
        patient({ id: 'ns3', nhs: NHS[5], verified: true, family: 'Ward', given: 'Zed', birthDate: '1999-09-09' }),
      ]);
      await rig.service.notSame(STEWARD, 'ns3', 'ns1', 'Checked');
      await rig.write([
        patient({ id: 'ns1', ...alice, family: 'Ward', postcode: 'M1 1AA', nhs: NHS[5], verified: true }),
      ]);
      assert.notEqual(await rig.personOf('ns1'), await rig.personOf('ns3'));
    });

    it('merges (HL7 A40): the source record is retired into the target, data moves, events recorded', async () => {
      await rig.write([
        patient({ id: 'm1', family: 'Moss', given: 'Ian', birthDate: '1944-04-04', gender: 'male' }),
        observation('m1-o', 'm1'),
      ]);
      await rig.write([
        patient({ id: 'm2', family: 'Parker', given: 'John', birthDate: '1977-07-07', gender: 'male' }),
        observation('m2-o', 'm2'),
      ]);
      assert.notEqual(await rig.personOf('m1'), await rig.personOf('m2'));
      const { personId } = await rig.service.merge(
        { kind: 'system', systemId: 'feed-pas' },
        { sourcePatientId: 'm2', targetPatientId: 'm1' },
        'ADT^A40 control id 123',
        'hl7-a40',
      );
      assert.equal(personId, 'm1');
      assert.equal(await rig.personOf('m2'), 'm1');
      assert.deepEqual(
        (await rig.personIdsOfRows('m2')).map((r) => r.person_id),
        ['m1', 'm1'],
      );
      const view = await rig.service.person('m1');
      assert.equal(view.links.find((l) => l.patientId === 'm2')?.retiredInto, 'm1');
      assert.equal(view.links.find((l) => l.patientId === 'm2')?.kind, 'merge');
      const merge = view.events.find((e) => e.kind === 'merge');
      assert.equal(merge?.actor, 'system:feed-pas');
      assert.deepEqual(merge?.detail, { via: 'hl7-a40', sourcePatientId: 'm2', targetPatientId: 'm1' });
      const former = await rig.service.person('m2');
      assert.equal(former.person.mergedInto, 'm1');
      // The retired record travels with the record it was merged into: they cannot be unlinked apart.
      await assert.rejects(rig.service.unlink(STEWARD, 'm2', 'Test'), /merged into Patient\/m1/);
      await assert.rejects(rig.service.unlink(STEWARD, 'm1', 'Test'), /only record of its person/);
    });

    it('an A40 does not override a not-same decision; a merge by hand does', async () => {
      await rig.write([patient({ id: 'a1', family: 'Able', given: 'Amy', birthDate: '1951-01-01' })]);
      await rig.write([patient({ id: 'a2', family: 'Baker', given: 'Beth', birthDate: '1952-02-02' })]);
      await rig.service.notSame(STEWARD, 'a1', 'a2', 'Different people');
      await assert.rejects(
        rig.service.merge(
          { kind: 'system', systemId: 'feed-pas' },
          { sourcePatientId: 'a2', targetPatientId: 'a1' },
          'A40',
          'hl7-a40',
        ),
        /not the same person/,
      );
      await rig.service.merge(
        STEWARD,
        { sourcePatientId: 'a2', targetPatientId: 'a1' },
        'Confirmed with both trusts',
        'manual',
      );
      assert.equal(await rig.personOf('a2'), await rig.personOf('a1'));
    });

    it('review queue: a steward links or declares not-same, with who and why', async () => {
      await rig.write([
        patient({
          id: 'q1',
          family: 'Quinn',
          given: 'Sarah',
          birthDate: '1985-08-08',
          gender: 'female',
          postcode: 'EX1 1AA',
        }),
      ]);
      await rig.write([
        patient({
          id: 'q2',
          family: 'Quinn',
          given: 'Susan',
          birthDate: '1985-08-08',
          gender: 'female',
          postcode: 'EX1 1AA',
        }),
      ]);
      await rig.write([
        patient({
          id: 'q3',
          family: 'Quinn',
          given: 'Sophie',
          birthDate: '1985-08-08',
          gender: 'female',
          postcode: 'EX1 1AA',
        }),
      ]);
      const open = await rig.service.reviews();
      const r2 = open.find((r) => r.review.patientId === 'q2');
      const r3 = open.find((r) => r.review.patientId === 'q3' && r.review.candidateId === 'q1');
      assert.ok(r2 && r3, 'reviews opened');
      await assert.rejects(rig.service.decide(STEWARD, r2.review.id, 'link', '  '), /reason is required/);
      const linked = await rig.service.decide(STEWARD, r2.review.id, 'link', 'Same person: nickname');
      assert.equal(linked.personId, 'q1');
      assert.equal(await rig.personOf('q2'), 'q1');
      assert.equal((await rig.service.person('q1')).links.find((l) => l.patientId === 'q2')?.kind, 'manual');
      await rig.service.decide(STEWARD, r3.review.id, 'not-same', 'Sisters');
      assert.notEqual(await rig.personOf('q3'), 'q1');
      await assert.rejects(rig.service.decide(STEWARD, r3.review.id, 'link', 'again'), /already decided/);
      const decided = await rig.service.review(r3.review.id);
      assert.equal(decided.review.status, 'not-same');
      assert.equal(decided.review.decidedBy, 'user:steward1@X26');
      assert.equal(decided.review.reason, 'Sisters');
    });

    it('candidate lookup uses the person_block index', async () => {
      // The table is tiny here, so the planner would rightly scan it: show that the index answers the query.
      const plan = await t.db.transaction(async (tx) => {
        await tx.exec('set local enable_seqscan = off');
        return tx.query<{ 'QUERY PLAN': string }>(
          `explain select patient_id from person_block where key = any($1::text[])`,
          [['dob:1956|0409']],
        );
      });
      assert.match(plan.rows.map((r) => r['QUERY PLAN']).join('\n'), /Index/);
    });
  });
}
