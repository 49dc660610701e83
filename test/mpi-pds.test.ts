/**
 * The PDS adapter against the local stand-in (over real HTTP on 127.0.0.1), and the MPI's use of it:
 * verification, superseded numbers, restricted persons, golden demographics with PDS as the authority,
 * conflict flags, and the batch trace round trip.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseTraceRequestCsv, parseTraceResponseCsv, traceRequestCsv } from '../src/mpi/pds/batch-trace.ts';
import { createPdsClient, type PdsClient } from '../src/mpi/pds/pds-client.ts';
import { handlePdsRequest, type RunningStandIn, startPdsStandIn } from '../src/mpi/pds/stand-in.ts';
import { MpiPdsService } from '../src/records/mpi/pds-service.ts';
import type { Golden } from '../src/records/mpi/golden.ts';
import { IcrError } from '../src/shared/errors.ts';
import { openTestDb, testDatabases, type TestDb } from './helpers/db.ts';
import { mpiRig, patient, STEWARD, type MpiRig } from './mpi-fixtures.ts';
import { PDS_PEOPLE } from './pds-stand-in/people.ts';

describe('PDS adapter against the stand-in', () => {
  let standIn: RunningStandIn;
  let pds: PdsClient;
  before(async () => {
    standIn = await startPdsStandIn(PDS_PEOPLE);
    pds = createPdsClient({ baseUrl: standIn.url, endUserOds: 'X26' });
  });
  after(async () => standIn?.close());

  it('reads a patient by NHS number with verification status 01 and the confidentiality code', async () => {
    const res = await pds.read('9990000077');
    assert.equal(res.kind, 'found');
    if (res.kind !== 'found') return;
    assert.equal(res.superseded, false);
    assert.equal(res.patient.nhsNumber, '9990000077');
    assert.equal(res.patient.verified, true);
    assert.equal(res.patient.security, 'U');
    assert.equal(res.patient.restricted, false);
    assert.equal(res.patient.birthDate, '1962-03-14');
    assert.ok(res.patient.address);
  });

  it('answers a superseded NHS number with the current record (a different id)', async () => {
    const res = await pds.read('9990000123');
    assert.equal(res.kind, 'found');
    if (res.kind !== 'found') return;
    assert.equal(res.superseded, true);
    assert.equal(res.patient.id, '9990000115');
  });

  it('flags a restricted record; PDS sends no address, telecom or GP', async () => {
    const res = await pds.read('9990000085');
    assert.equal(res.kind, 'found');
    if (res.kind !== 'found') return;
    assert.equal(res.patient.security, 'R');
    assert.equal(res.patient.restricted, true);
    assert.equal(res.patient.address, undefined);
    assert.equal(res.patient.telecom, undefined);
  });

  it('not found, invalid NHS number', async () => {
    assert.deepEqual(await pds.read('9990000131'), { kind: 'not-found' });
    assert.deepEqual(await pds.read('9990000019'), { kind: 'invalid-nhs-number' });
    const raw = handlePdsRequest(PDS_PEOPLE, 'GET', '/Patient/9990000019', {
      'x-request-id': '6f7e2b1c-55aa-4c1e-9a3e-0123456789ab',
    });
    assert.equal(raw.status, 400);
    assert.match(raw.body, /INVALID_RESOURCE_ID/);
    const missing = handlePdsRequest(PDS_PEOPLE, 'GET', '/Patient/9990000077', {});
    assert.equal(missing.status, 400);
    assert.match(missing.body, /MISSING_VALUE/);
  });

  it('searches by demographics: a searchset with scores, and TOO_MANY_MATCHES', async () => {
    const one = await pds.search({
      family: 'Taylor',
      given: ['Jane'],
      gender: 'female',
      birthDate: '1962-03-14',
      postcode: 'LS1 4AP',
    });
    assert.equal(one.kind, 'matches');
    if (one.kind === 'matches') {
      assert.equal(one.matches.length, 1);
      assert.equal(one.matches[0]?.score, 1);
    }
    const many = await pds.search({ family: 'Patel', gender: 'male', birthDate: '1990-01-01' });
    assert.deepEqual(many, { kind: 'too-many-matches' });
    const both = await pds.search({ family: 'Patel', gender: 'male', birthDate: '1990-01-01', maxResults: 5 });
    assert.equal(both.kind === 'matches' ? both.matches.length : 0, 2);
    const fuzzy = await pds.search({
      family: 'Tailor',
      gender: 'female',
      birthDate: '1962-03-14',
      fuzzy: true,
      maxResults: 5,
    });
    assert.equal(fuzzy.kind === 'matches' ? fuzzy.matches[0]?.patient.nhsNumber : '', '9990000077');
    assert.ok(fuzzy.kind === 'matches' && (fuzzy.matches[0]?.score ?? 1) < 1);
    const none = await pds.search({ family: 'Nobody', gender: 'male', birthDate: '1900-01-01' });
    assert.deepEqual(none, { kind: 'matches', matches: [] });
  });

  it('an unreachable PDS is ICR_PDS_UNAVAILABLE', async () => {
    const dead = createPdsClient({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 2000 });
    await assert.rejects(dead.read('9990000077'), (e) => e instanceof IcrError && e.code === 'ICR_PDS_UNAVAILABLE');
  });

  it('batch trace CSV round trip through the stand-in', async () => {
    const csv = traceRequestCsv([
      {
        reference: 'r-1',
        nhsNumber: '9990000077',
        family: 'TAYLOR',
        given: 'JANE',
        gender: 'female',
        birthDate: '19620314',
      },
      { reference: 'r-2', family: 'Newman', gender: 'male', birthDate: '19500505', postcode: 'HG1 1AA' },
      { reference: 'r-3', family: 'Patel', gender: 'male', birthDate: '19900101' },
      { reference: 'r,4 "quoted"', family: 'Hidden', gender: 'female', birthDate: '19751102' },
    ]);
    assert.equal(parseTraceRequestCsv(csv)[3]?.reference, 'r,4 "quoted"');
    const res = await fetch(`${standIn.url}/batch-trace`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv', 'x-request-id': '6f7e2b1c-55aa-4c1e-9a3e-0123456789ab' },
      body: csv,
    });
    const rows = parseTraceResponseCsv(await res.text());
    assert.deepEqual(
      rows.map((r) => [r.reference, r.matchedNhsNumber, r.indicator]),
      [
        ['r-1', '9990000077', '1'],
        ['r-2', '9990000115', '3'],
        ['r-3', '', '0'],
        ['r,4 "quoted"', '9990000085', '3'],
      ],
    );
    assert.equal(rows[3]?.sensitive, true);
    assert.equal(rows[3]?.postcode, '');
  });
});

for (const which of testDatabases) {
  describe(`MPI with PDS (${which})`, () => {
    let t: TestDb;
    let rig: MpiRig;
    let standIn: RunningStandIn;
    let service: MpiPdsService;
    before(async () => {
      t = await openTestDb(which);
      rig = mpiRig(t.db);
      standIn = await startPdsStandIn(PDS_PEOPLE);
      service = new MpiPdsService({ db: t.db, ctx: rig.ctx, pds: createPdsClient({ baseUrl: standIn.url }) });
    });
    after(async () => {
      await standIn?.close();
      await t?.close();
    });

    it('verifies an unverified NHS number; PDS becomes the authority for golden demographics', async () => {
      await rig.write([
        patient({
          id: 'v1',
          nhs: '9990000077',
          verified: false,
          family: 'Taylor',
          given: 'Janet',
          birthDate: '1962-03-14',
          gender: 'female',
          postcode: 'LS6 1AA',
        }),
      ]);
      const res = await service.verify(STEWARD, 'v1');
      assert.equal(res.outcome, 'verified');
      const view = await rig.service.person(res.personId);
      assert.equal(view.links[0]?.nhsVerified, true);
      const golden = view.person.golden as unknown as Golden;
      assert.equal(golden.authority, 'pds');
      assert.equal(golden.sources.name, 'pds');
      assert.deepEqual((golden.address as Array<{ postalCode: string }>)[0]?.postalCode, 'LS1 4AP');
      assert.ok(view.events.some((e) => e.kind === 'verify' && e.detail.outcome === 'verified'));
      // A second record with the verified number now links deterministically.
      await rig.write([
        patient({ id: 'v2', nhs: '9990000077', verified: true, family: 'Taylor', given: 'J', birthDate: '1962-03-14' }),
      ]);
      assert.equal(await rig.personOf('v2'), res.personId);
    });

    it('a verified record alone in its person joins the person holding that verified number', async () => {
      await rig.write([
        patient({
          id: 'j1',
          nhs: '9990000115',
          verified: true,
          family: 'Newman',
          given: 'Neil',
          birthDate: '1950-05-05',
          gender: 'male',
        }),
      ]);
      await rig.write([
        patient({
          id: 'j2',
          nhs: '9990000115',
          verified: false,
          family: 'Nuemann',
          given: 'Neal',
          birthDate: '1951-06-05',
          gender: 'male',
          postcode: 'ZZ1 1ZZ',
        }),
      ]);
      assert.notEqual(await rig.personOf('j2'), 'j1');
      const res = await service.verify(STEWARD, 'j2');
      assert.equal(res.outcome, 'mismatch', 'date of birth differs from PDS: not verified');
      await rig.write([
        patient({
          id: 'j3',
          nhs: '9990000115',
          verified: false,
          family: 'Smith',
          given: 'Neil',
          birthDate: '1950-05-05',
          gender: 'male',
          postcode: 'ZZ1 1ZZ',
        }),
      ]);
      const j3 = await service.verify(STEWARD, 'j3');
      assert.equal(j3.outcome, 'verified');
      assert.equal(await rig.personOf('j3'), 'j1');
    });

    it('superseded, not found and restricted', async () => {
      await rig.write([
        patient({
          id: 'x1',
          nhs: '9990000123',
          verified: false,
          family: 'Newman',
          given: 'Neil',
          birthDate: '1950-05-05',
          gender: 'male',
        }),
      ]);
      const sup = await service.verify(STEWARD, 'x1');
      assert.equal(sup.outcome, 'superseded');
      assert.equal(sup.nhsNumber, '9990000115');
      const person = (await rig.service.person(sup.personId)).person;
      // The source still holds the old number, PDS the new one: flagged.
      assert.ok((person.conflicts as Array<{ field: string }>).some((c) => c.field === 'nhsNumber'));

      await rig.write([
        patient({
          id: 'x2',
          nhs: '9990000131',
          verified: false,
          family: 'Ghost',
          given: 'Gus',
          birthDate: '1901-01-01',
        }),
      ]);
      assert.equal((await service.verify(STEWARD, 'x2')).outcome, 'not-found');

      await rig.write([
        patient({
          id: 'x3',
          nhs: '9990000085',
          verified: false,
          family: 'Hidden',
          given: 'Rose',
          birthDate: '1975-11-02',
          gender: 'female',
          postcode: 'LS2 9JT',
          line: '2 Secret Lane',
        }),
      ]);
      const restricted = await service.verify(STEWARD, 'x3');
      assert.equal(restricted.outcome, 'verified');
      assert.equal(restricted.restricted, true);
      const r = (await rig.service.person(restricted.personId)).person;
      const golden = r.golden as unknown as Golden;
      assert.equal(r.restricted, true);
      assert.equal(golden.restricted, true);
      assert.equal(golden.address, undefined, 'no address in golden demographics of a restricted person');
      assert.deepEqual(golden.withheld, ['address', 'telecom', 'generalPractitioner']);
      assert.equal(golden.pds?.address, undefined);
    });

    it('flags conflicts between linked records (two dates of birth, different sex)', async () => {
      await rig.write([
        patient({
          id: 'c1',
          nhs: '9990000093',
          verified: true,
          family: 'Patel',
          given: 'Amir',
          birthDate: '1990-01-01',
          gender: 'male',
        }),
      ]);
      await rig.write([
        patient({
          id: 'c2',
          nhs: '9990000093',
          verified: true,
          family: 'Patel',
          given: 'Amir',
          birthDate: '1990-10-01',
          gender: 'male',
        }),
      ]);
      assert.equal(await rig.personOf('c2'), 'c1');
      const person = (await rig.service.person('c1')).person;
      const fields = (person.conflicts as Array<{ field: string; values: Array<{ value: string; sources: string[] }> }>)
        .map((c) => c.field)
        .sort();
      assert.deepEqual(fields, ['birthDate']);
      const listed = await rig.service.conflicts();
      assert.ok(listed.some((p) => p.id === 'c1'));
      // Golden without PDS: the best-quality source record.
      assert.equal((person.golden as unknown as Golden).authority, 'source');
    });

    it('batch trace: unverified records out, traced numbers back and verified', async () => {
      await rig.write([
        patient({
          id: 't1',
          family: 'Taylor',
          given: 'Jane',
          birthDate: '1962-03-14',
          gender: 'female',
          postcode: 'XX1 1XX',
        }),
      ]);
      const out = await service.traceRequest();
      const rows = parseTraceRequestCsv(out);
      assert.ok(rows.some((r) => r.reference === 't1' && r.family === 'TAYLOR' && r.birthDate === '19620314'));
      const res = await fetch(`${standIn.url}/batch-trace`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv', 'x-request-id': '6f7e2b1c-55aa-4c1e-9a3e-0123456789ab' },
        body: out,
      });
      const applied = await service.applyTrace(STEWARD, await res.text());
      assert.ok(applied.verified >= 1);
      // t1 is alone in its person and now holds 9990000077 verified: it joins v1's person.
      assert.equal(await rig.personOf('t1'), await rig.personOf('v1'));
    });
  });
}
