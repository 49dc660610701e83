/**
 * Patient/$match and Patient/$ihe-pix over the MPI tables (PGlite, and PostgreSQL when configured).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Bundle } from '../src/fhir/types.ts';
import {
  MATCH_GRADE_EXTENSION,
  matchScore,
  patientMatch,
  patientPix,
  readMatchParameters,
  readPixParameters,
} from '../src/records/mpi/fhir-operations.ts';
import { createMpi } from '../src/records/mpi/mpi-compose.ts';
import { openTestDb, testDatabases, type TestDb } from './helpers/db.ts';
import { mpiRig, NHS, patient, type MpiRig } from './mpi-fixtures.ts';

const BASE = 'http://127.0.0.1:8080/fhir';
const PAS = 'https://pas.trust-a.example/mrn';
const SOCIAL = 'https://social.council.example/person';

for (const which of testDatabases) {
  describe(`$match and $ihe-pix (${which})`, () => {
    let t: TestDb;
    let rig: MpiRig;
    before(async () => {
      t = await openTestDb(which);
      rig = mpiRig(t.db);
      await rig.write([
        patient({
          id: 'h1',
          nhs: NHS[0],
          verified: true,
          mrn: 'A100',
          mrnSystem: PAS,
          family: 'Harris',
          given: 'Helen',
          birthDate: '1958-07-21',
          gender: 'female',
          postcode: 'NN1 1AA',
          line: '3 High Street',
        }),
      ]);
      await rig.write([
        patient({
          id: 'h2',
          mrn: 'S-77',
          mrnSystem: SOCIAL,
          family: 'Harris',
          given: 'Helen',
          birthDate: '1958-07-21',
          gender: 'female',
          postcode: 'NN1 1AA',
          line: '3 High Street',
        }),
      ]);
      await rig.write([
        patient({
          id: 'h3',
          family: 'Harris',
          given: 'Hannah',
          birthDate: '1958-07-21',
          gender: 'female',
          postcode: 'NN1 1AA',
        }),
      ]);
      await rig.write([patient({ id: 'z1', family: 'Zed', given: 'Zoe', birthDate: '2001-01-01', gender: 'female' })]);
    });
    after(async () => t?.close());

    it('$match returns scored, graded source records, best first', async () => {
      const input = readMatchParameters({
        resourceType: 'Parameters',
        parameter: [
          {
            name: 'resource',
            resource: {
              resourceType: 'Patient',
              name: [{ family: 'Harris', given: ['Helen'] }],
              birthDate: '1958-07-21',
              gender: 'female',
            },
          },
          { name: 'count', valueInteger: 5 },
        ],
      });
      const bundle = JSON.parse((await patientMatch(t.db, rig.ctx.engine, input, BASE)).json) as Bundle;
      assert.equal(bundle.type, 'searchset');
      const ids = bundle.entry?.map((e) => e.resource?.id);
      assert.deepEqual(ids?.slice(0, 2).sort(), ['h1', 'h2']);
      assert.ok(!ids?.includes('z1'));
      const first = bundle.entry?.[0] as {
        search: { score: number; mode: string; extension: Array<{ url: string; valueCode: string }> };
      };
      assert.equal(first.search.mode, 'match');
      assert.equal(first.search.extension[0]?.url, MATCH_GRADE_EXTENSION);
      assert.equal(first.search.extension[0]?.valueCode, 'certain');
      assert.ok(first.search.score > 0.8 && first.search.score <= 1);
      const grades = bundle.entry?.map(
        (e) => (e.search as { extension: Array<{ valueCode: string }> }).extension[0]?.valueCode,
      );
      assert.ok(
        grades?.includes('possible') || grades?.includes('probable'),
        `h3 is a weaker match: ${grades?.join(',')}`,
      );
      assert.equal(bundle.entry?.[0]?.fullUrl?.startsWith(`${BASE}/Patient/`), true);
    });

    it('$match onlyCertainMatches, and a verified NHS number is certain', async () => {
      const input = readMatchParameters({
        resourceType: 'Parameters',
        parameter: [
          { name: 'resource', resource: patient({ id: 'x', nhs: NHS[0], verified: true, family: 'Other' }) },
          { name: 'onlyCertainMatches', valueBoolean: true },
        ],
      });
      const bundle = JSON.parse((await patientMatch(t.db, rig.ctx.engine, input, BASE)).json) as Bundle;
      assert.deepEqual(
        bundle.entry?.map((e) => [e.resource?.id, e.search?.score]),
        [['h1', 1]],
      );
      assert.throws(() => readMatchParameters({ resourceType: 'Parameters', parameter: [] }), /Patient/);
    });

    it('$ihe-pix cross-references every source record of the same person', async () => {
      assert.equal(await rig.personOf('h2'), 'h1');
      const all = await patientPix(
        t.db,
        readPixParameters(new URLSearchParams(`sourceIdentifier=${encodeURIComponent(`${PAS}|A100`)}`)),
      );
      const params = all.parameters.parameter as Array<{
        name: string;
        valueIdentifier?: { system: string; value: string };
        valueReference?: { reference: string };
      }>;
      assert.deepEqual(
        params.filter((p) => p.name === 'targetId').map((p) => p.valueReference?.reference),
        ['Patient/h1', 'Patient/h2'],
      );
      const idents = params
        .filter((p) => p.name === 'targetIdentifier')
        .map((p) => `${p.valueIdentifier?.system}|${p.valueIdentifier?.value}`);
      assert.deepEqual(idents.sort(), [`${SOCIAL}|S-77`, `https://fhir.nhs.uk/Id/nhs-number|${NHS[0]}`].sort());

      const social = await patientPix(
        t.db,
        readPixParameters(
          new URLSearchParams({
            sourceIdentifier: `https://fhir.nhs.uk/Id/nhs-number|${NHS[0]}`,
            targetSystem: SOCIAL,
          }),
        ),
      );
      const sp = social.parameters.parameter as Array<{ name: string; valueIdentifier?: { value: string } }>;
      assert.deepEqual(
        sp.filter((p) => p.name === 'targetIdentifier').map((p) => p.valueIdentifier?.value),
        ['S-77'],
      );

      await assert.rejects(
        patientPix(t.db, readPixParameters(new URLSearchParams({ sourceIdentifier: `${PAS}|NOPE` }))),
        /no patient/,
      );
      // The same through the composed MPI (what the HTTP routes call).
      const viaCompose = await createMpi({ db: t.db }).pix(new URLSearchParams({ sourceIdentifier: `${SOCIAL}|S-77` }));
      assert.equal((viaCompose.parameters.parameter as unknown[]).length, 4);
      assert.equal(viaCompose.personIds.length, 1);
      assert.equal(viaCompose.patientIds.length, 2);
      assert.throws(() => readPixParameters(new URLSearchParams({ sourceIdentifier: 'novalue' })), /system\|value/);
    });
  });
}

describe('match score scale', () => {
  it('maps the review threshold to 0.5 and the link threshold to 0.8', () => {
    const th = { link: 15, review: 5 };
    assert.equal(matchScore(5, th), 0.5);
    assert.equal(matchScore(15, th), 0.8);
    assert.equal(matchScore(30, th), 1);
    assert.equal(matchScore(-10, th), 0);
  });
});
