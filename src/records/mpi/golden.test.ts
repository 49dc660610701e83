import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeGolden, findConflicts, type GoldenSource, type PdsSnapshot } from './golden.ts';

function src(
  patientId: string,
  record: Omit<GoldenSource['record'], 'id'>,
  patient: Record<string, unknown> = {},
  at = '2026-01-01T00:00:00.000Z',
): GoldenSource {
  return {
    patientId,
    record: { ...record, id: patientId },
    patient: { resourceType: 'Patient', id: patientId, ...patient },
    at,
    retired: false,
  };
}

describe('golden demographics', () => {
  const gp = src(
    'gp',
    { nhsNumber: '9990000018', nhsVerified: true, family: 'smith', birthDate: '19560409', sex: 'female' },
    {
      name: [{ family: 'Smith', given: ['Alice'] }],
      birthDate: '1956-04-09',
      gender: 'female',
    },
  );
  const social = src(
    'social',
    { family: 'smith', given: 'alice', birthDate: '19560409', postcode: 'LS1 4AP', street: 'park row' },
    {
      name: [{ family: 'Smith', given: ['Alice'] }],
      birthDate: '1956-04-09',
      address: [{ line: ['12 Park Row'], postalCode: 'LS1 4AP' }],
      telecom: [{ system: 'phone', value: '01130000000' }],
    },
  );

  it('takes each field from the best-quality source that has it when PDS has not been asked', () => {
    const { golden, conflicts } = computeGolden([social, gp]);
    assert.equal(golden.authority, 'source');
    assert.equal(golden.sources.name, 'gp', 'verified NHS number ranks first');
    assert.equal(golden.sources.address, 'social', 'a field the best source lacks comes from the next');
    assert.equal(golden.nhsNumber, '9990000018');
    assert.equal(golden.nhsVerified, true);
    assert.deepEqual(conflicts, []);
  });

  it('PDS is the authority; a restricted person keeps no address, telecom or GP', () => {
    const pds: PdsSnapshot = {
      fetchedAt: 'now',
      id: '9990000018',
      nhsNumber: '9990000018',
      security: 'R',
      restricted: true,
      birthDate: '1956-04-09',
      gender: 'female',
      name: [{ family: 'Smith-Jones' }],
    };
    const { golden } = computeGolden([social, gp], pds);
    assert.equal(golden.authority, 'pds');
    assert.deepEqual(golden.name, [{ family: 'Smith-Jones' }]);
    assert.equal(golden.sources.name, 'pds');
    assert.equal(golden.address, undefined, "the social care record's address is withheld too");
    assert.equal(golden.telecom, undefined);
    assert.deepEqual(golden.withheld, ['address', 'telecom', 'generalPractitioner']);
    assert.equal(golden.restricted, true);
  });

  it('flags two dates of birth and different sex; a partial date agreeing with a full one is no conflict', () => {
    const other = src('ae', { family: 'smith', birthDate: '19560904', sex: 'male' });
    const partial = src('amb', { family: 'smith', birthDate: '1956' });
    const conflicts = findConflicts([gp, other, partial]);
    assert.deepEqual(
      conflicts.map((c) => c.field),
      ['birthDate', 'sex'],
    );
    assert.deepEqual(conflicts[0]?.values, [
      { value: '19560409', sources: ['amb', 'gp'] },
      { value: '19560904', sources: ['ae'] },
    ]);
    assert.deepEqual(findConflicts([gp, partial]), []);
  });

  it('retired (merged) records do not count', () => {
    const retired = { ...src('old', { birthDate: '20000101' }), retired: true };
    assert.deepEqual(computeGolden([gp, retired]).conflicts, []);
  });
});
