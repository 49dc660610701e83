/**
 * The master patient index through the HTTP API (app.inject): Patients written over FHIR are linked to
 * persons at write time, `$everything` follows the person, `$match` and `$ihe-pix` answer, and a data
 * steward works the review queue, unlinks and merges — others are refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDatabases } from './helpers/db.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';
import { startPdsStandIn } from '../src/mpi/pds/stand-in.ts';
import { NHS, observation, patient } from './mpi-fixtures.ts';
import { PDS_PEOPLE } from './pds-stand-in/people.ts';

const FHIR = 'application/fhir+json';
const GP_PAS = 'https://gp.example/patient';
const TRUST_PAS = 'https://trust.example/mrn';

for (const kind of testDatabases) {
  describe(`HTTP MPI (${kind})`, () => {
    let ta: TestApp;
    let gp: string;
    let steward: string;
    before(async () => {
      ta = await openTestApp(kind);
      gp = await ta.auth('gp-a81001');
      steward = await ta.auth('data-steward');
    });
    after(async () => {
      await ta.close();
    });

    const req = (method: 'GET' | 'POST' | 'PUT', url: string, auth: string, body?: unknown) =>
      ta.app.inject({
        method,
        url,
        headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': FHIR }) },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
    const put = async (resource: { resourceType: string; id: string }) => {
      const res = await req('PUT', `/fhir/${resource.resourceType}/${resource.id}`, gp, resource);
      assert.ok(res.statusCode === 201 || res.statusCode === 200, res.body);
    };

    it('claims $match and $ihe-pix in the CapabilityStatement', async () => {
      const cs = (await ta.app.inject({ url: '/fhir/metadata' })).json();
      const p = cs.rest[0].resource.find((r: { type: string }) => r.type === 'Patient');
      assert.deepEqual(
        p.operation.map((o: { name: string }) => o.name),
        ['everything', 'match', 'ihe-pix'],
      );
    });

    it('links two source records with the same verified NHS number; $everything shows both', async () => {
      await put(
        patient({ id: 'gp-1', nhs: NHS[0], verified: true, mrn: 'G1', mrnSystem: GP_PAS, family: 'Ng', given: 'Ava' }),
      );
      await put(
        patient({
          id: 'acute-1',
          nhs: NHS[0],
          verified: true,
          mrn: 'T1',
          mrnSystem: TRUST_PAS,
          family: 'Ng',
          given: 'Ava',
        }),
      );
      await put(observation('obs-gp', 'gp-1'));
      await put(observation('obs-acute', 'acute-1'));
      // A relationship declared against one source record covers the person, whatever the MPI links.
      await ta.relate('acute-1');
      const res = await req('GET', '/fhir/Patient/gp-1/$everything', gp);
      assert.equal(res.statusCode, 200);
      const ids = res
        .json()
        .entry.map(
          (e: { resource: { resourceType: string; id: string } }) => `${e.resource.resourceType}/${e.resource.id}`,
        )
        .sort();
      assert.deepEqual(ids, ['Observation/obs-acute', 'Observation/obs-gp', 'Patient/acute-1', 'Patient/gp-1']);
    });

    it('$ihe-pix gives the identifiers the same person has in other systems', async () => {
      const res = await req('GET', `/fhir/Patient/$ihe-pix?sourceIdentifier=${encodeURIComponent(`${GP_PAS}|G1`)}`, gp);
      assert.equal(res.statusCode, 200, res.body);
      const out = res.json();
      assert.equal(out.resourceType, 'Parameters');
      const values = out.parameter
        .filter((p: { name: string }) => p.name === 'targetIdentifier')
        .map(
          (p: { valueIdentifier: { system: string; value: string } }) =>
            `${p.valueIdentifier.system}|${p.valueIdentifier.value}`,
        );
      assert.ok(values.includes(`${TRUST_PAS}|T1`), JSON.stringify(out));
      const bad = await req('GET', '/fhir/Patient/$ihe-pix?sourceIdentifier=nobar', gp);
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().resourceType, 'OperationOutcome');
    });

    it('$match returns graded candidates and refuses a body that is not a Patient', async () => {
      const res = await req('POST', '/fhir/Patient/$match', gp, {
        resourceType: 'Parameters',
        parameter: [
          {
            name: 'resource',
            resource: {
              resourceType: 'Patient',
              name: [{ family: 'Ng', given: ['Ava'] }],
              identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: NHS[0] }],
            },
          },
        ],
      });
      assert.equal(res.statusCode, 200, res.body);
      const bundle = res.json();
      assert.equal(bundle.type, 'searchset');
      const found = bundle.entry.map((e: { resource: { id: string } }) => e.resource.id).sort();
      assert.deepEqual(found, ['acute-1', 'gp-1']);
      for (const e of bundle.entry) assert.ok(e.search.score > 0 && e.search.score <= 1);
      const bad = await req('POST', '/fhir/Patient/$match', gp, { resourceType: 'Observation' });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().resourceType, 'OperationOutcome');
    });

    it('answers Patient search with every IHE PDQm parameter, mothersMaidenName included', async () => {
      await put({
        resourceType: 'Patient',
        id: 'pdqm-1',
        active: true,
        identifier: [{ system: TRUST_PAS, value: 'PDQ-1' }],
        name: [{ family: 'Ōkafor', given: ['Ife'] }],
        telecom: [{ system: 'phone', value: '01632960001' }],
        gender: 'female',
        birthDate: '1990-02-03',
        address: [{ line: ['1 Mill Lane'], city: 'Exeter', state: 'Devon', postalCode: 'EX1 1AB', country: 'GB' }],
        extension: [
          { url: 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName', valueString: 'Adeyemi' },
        ],
      } as { resourceType: string; id: string });
      const queries = [
        '_id=pdqm-1',
        'active=true&family=okafor',
        'family=Okafor',
        'given=ife&family=ok',
        `identifier=${encodeURIComponent(`${TRUST_PAS}|PDQ-1`)}`,
        'telecom=01632960001',
        'birthdate=1990-02&family=okafor',
        'address=exe',
        'address:contains=mill',
        'address-city=exeter',
        'address-country=GB&family=okafor',
        'address-postalcode=EX1',
        'address-state=devon',
        'gender=female&family=okafor',
        'mothersMaidenName=adey',
      ];
      for (const q of queries) {
        const res = await req('GET', `/fhir/Patient?${q}`, gp);
        assert.equal(res.statusCode, 200, `${q}: ${res.body}`);
        const ids = res.json().entry?.map((e: { resource: { id: string } }) => e.resource.id) ?? [];
        assert.deepEqual(ids, ['pdqm-1'], q);
      }
      const none = await req('GET', '/fhir/Patient?mothersMaidenName=smith', gp);
      assert.equal(none.json().total, 0);
    });

    it('a data steward decides a review; other roles are refused', async () => {
      const q = { family: 'Quinn', birthDate: '1985-08-08', gender: 'female', postcode: 'EX1 1AA' };
      await put(patient({ id: 'q1', given: 'Sarah', ...q }));
      await put(patient({ id: 'q2', given: 'Susan', ...q }));
      const denied = await req('GET', '/api/mpi/reviews', gp);
      assert.equal(denied.statusCode, 403);
      assert.equal(denied.json().resourceType, 'OperationOutcome');
      assert.equal((await ta.app.inject({ url: '/api/mpi/reviews' })).statusCode, 401);

      const list = await req('GET', '/api/mpi/reviews?status=open', steward);
      assert.equal(list.statusCode, 200, list.body);
      const item = list.json().items.find((i: { review: { patientId: string } }) => i.review.patientId === 'q2');
      assert.ok(item, 'a review was opened for q2');
      assert.equal(item.right.patientId, 'q1');
      assert.ok(item.review.vector.given, 'the comparison vector explains the score');

      const noReason = await req('POST', `/api/mpi/reviews/${item.review.id}/decision`, steward, { decision: 'link' });
      assert.equal(noReason.statusCode, 400);
      const decided = await req('POST', `/api/mpi/reviews/${item.review.id}/decision`, steward, {
        decision: 'link',
        reason: 'Same person: confirmed with the GP practice',
      });
      assert.equal(decided.statusCode, 200, decided.body);
      const personId = decided.json().personId as string;
      const again = await req('POST', `/api/mpi/reviews/${item.review.id}/decision`, steward, {
        decision: 'not-same',
        reason: 'changed my mind',
      });
      assert.equal(again.statusCode, 409);

      const person = await req('GET', `/api/mpi/persons/${personId}`, steward);
      assert.equal(person.statusCode, 200);
      const view = person.json();
      assert.deepEqual(view.links.map((l: { patientId: string }) => l.patientId).sort(), ['q1', 'q2']);
      assert.ok(
        view.events.some(
          (e: { kind: string; reason: string | null }) => e.reason?.includes('confirmed with the GP') === true,
        ),
      );

      const unlinked = await req('POST', '/api/mpi/unlink', steward, {
        patient: 'Patient/q2',
        reason: 'Linked in error',
      });
      assert.equal(unlinked.statusCode, 200, unlinked.body);
      assert.notEqual(unlinked.json().personId, personId);
      const merged = await req('POST', '/api/mpi/merge', steward, {
        source: 'q2',
        target: 'q1',
        reason: 'A40 by hand',
      });
      assert.equal(merged.statusCode, 200, merged.body);
      assert.equal(merged.json().personId, personId);
      const missing = await req('POST', '/api/mpi/merge', steward, { source: 'q2', reason: 'x' });
      assert.equal(missing.statusCode, 400);
      assert.match(missing.json().issue[0].diagnostics, /"target" is required/);
    });
  });
}

describe('HTTP MPI: verify an NHS number with PDS (pglite)', () => {
  it('verifies through the configured PDS; without one the call is 501', async () => {
    const standIn = await startPdsStandIn(PDS_PEOPLE);
    const withPds = await openTestApp('pglite', { ICR_PDS_URL: standIn.url, ICR_PDS_ODS: 'X26' });
    const withoutPds = await openTestApp('pglite');
    try {
      const jane = patient({
        id: 'jt-1',
        nhs: '9990000077',
        verified: false,
        family: 'Taylor',
        given: 'Jane',
        birthDate: '1962-03-14',
      });
      for (const ta of [withPds, withoutPds]) {
        const put = await ta.app.inject({
          method: 'PUT',
          url: '/fhir/Patient/jt-1',
          headers: { authorization: await ta.auth(), 'content-type': FHIR },
          payload: JSON.stringify(jane),
        });
        assert.equal(put.statusCode, 201, put.body);
      }
      const verify = async (ta: TestApp, user: string) =>
        ta.app.inject({
          method: 'POST',
          url: '/api/mpi/patients/jt-1/verify',
          headers: { authorization: await ta.auth(user) },
        });
      assert.equal((await verify(withPds, 'gp-a81001')).statusCode, 403);
      const ok = await verify(withPds, 'data-steward');
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().outcome, 'verified');
      assert.equal(ok.json().nhsNumber, '9990000077');
      const none = await verify(withoutPds, 'data-steward');
      assert.equal(none.statusCode, 501);
      assert.match(none.json().issue[0].diagnostics, /ICR_PDS_URL/);
    } finally {
      await withPds.close();
      await withoutPds.close();
      await standIn.close();
    }
  });
});
