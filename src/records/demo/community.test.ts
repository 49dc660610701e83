import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertValid, initValidation } from '../../fhir/validation.ts';
import { AMBULANCE_SYSTEM, communityRecords, SOCIAL_CARE_SYSTEM } from './community.ts';

interface DemoPatient {
  id: string;
  name: Array<{ family: string; given: string[] }>;
  identifier: Array<{ system: string }>;
  birthDate: string;
}

const people = Array.from({ length: 12 }, (_, i) => ({
  resourceType: 'Patient',
  id: `p-${String(i).padStart(2, '0')}`,
  name: [{ family: `Harrison${100 + i}`, given: [`Amelia${i}`] }],
  gender: i % 2 === 0 ? 'female' : 'male',
  birthDate: `19${50 + i}-04-0${(i % 9) + 1}`,
}));

describe('demo community records', () => {
  it('derives social care and ambulance records deterministically, without Synthea digits', () => {
    const a = communityRecords(people);
    assert.deepEqual(communityRecords([...people].reverse()), a);
    const sc = a.socialCare.filter((r) => r.resourceType === 'Patient') as unknown as DemoPatient[];
    const amb = a.ambulance.filter((r) => r.resourceType === 'Patient') as unknown as DemoPatient[];
    assert.deepEqual(
      sc.map((p) => p.id),
      ['sc-0001', 'sc-0004', 'sc-0007', 'sc-0010'],
    );
    assert.deepEqual(
      amb.map((p) => p.id),
      ['amb-0002', 'amb-0006', 'amb-0010'],
    );
    // Every other social care record has the family name misspelt (two letters swapped).
    assert.equal(sc[0]?.name[0]?.family, 'Harrison');
    assert.equal(sc[1]?.name[0]?.family, 'Harirson');
    assert.equal(sc[0]?.identifier[0]?.system, SOCIAL_CARE_SYSTEM);
    assert.equal(sc[0]?.birthDate, '1950-04-01');
    // The ambulance knows a surname, an initial and the year of birth only.
    assert.deepEqual(amb[0]?.name, [{ family: 'HARRISON', given: ['A'] }]);
    assert.equal(amb[0]?.birthDate, '1951');
    assert.equal(amb[0]?.identifier[0]?.system, AMBULANCE_SYSTEM);
    assert.equal(communityRecords(people, 3).socialCare.length, 2);
  });

  it('writes only valid R4 resources, each about its own source Patient', () => {
    initValidation();
    const { socialCare, ambulance } = communityRecords(people);
    for (const r of [...socialCare, ...ambulance]) {
      assertValid(r);
      const subject = (r as { subject?: { reference: string } }).subject?.reference;
      if (r.resourceType !== 'Patient') assert.match(String(subject), /^Patient\/(sc|amb)-\d{4}$/);
    }
  });
});
