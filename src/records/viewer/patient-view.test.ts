import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPatientView, type BuildInput, identityConflicts } from './patient-view.ts';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const now = new Date('2026-12-06T10:00:00Z');

function input(over: Partial<BuildInput> = {}): BuildInput {
  return {
    patientId: 'p1',
    resources: [
      {
        resourceType: 'Patient',
        id: 'p1',
        identifier: [{ system: NHS, value: '9434765919' }],
        name: [{ family: 'Testwell', given: ['Alice'], prefix: ['Mrs'] }],
        birthDate: '1945-07-14',
        gender: 'female',
        address: [{ use: 'home', line: ['1 Fictional Road'], city: 'Kettering', postalCode: 'NN16 0ZZ' }],
        telecom: [{ system: 'phone', value: '01632 960000' }],
      },
      { resourceType: 'Patient', id: 'sc1', name: [{ family: 'TESTWELL' }], birthDate: '1945' },
      {
        resourceType: 'Flag',
        id: 'f1',
        status: 'active',
        category: [{ text: 'Safeguarding' }],
        code: { text: 'Child protection plan in household' },
      },
      {
        resourceType: 'MedicationStatement',
        id: 'm1',
        status: 'active',
        medicationCodeableConcept: { text: 'Amlodipine 5mg tablets' },
        dosage: [{ text: 'One daily' }],
      },
      {
        resourceType: 'Observation',
        id: 'o1',
        status: 'final',
        code: { text: 'Potassium' },
        valueQuantity: { value: 6.1, unit: 'mmol/L' },
        referenceRange: [{ low: { value: 3.5 }, high: { value: 5.3 } }],
        effectiveDateTime: '2026-12-01T09:00:00Z',
      },
    ],
    sources: [
      { resourceType: 'Patient', id: 'p1', feedId: 'kgh-pas', sourceOrg: 'RNQ', receivedAt: '2026-12-06T09:00:00Z' },
      { resourceType: 'Patient', id: 'sc1', feedId: 'sc', sourceOrg: 'LA001', receivedAt: '2026-12-01T09:00:00Z' },
      { resourceType: 'Flag', id: 'f1', feedId: 'sc', sourceOrg: 'LA001', receivedAt: '2026-12-02T09:00:00Z' },
      {
        resourceType: 'MedicationStatement',
        id: 'm1',
        feedId: 'kgh-pas',
        sourceOrg: 'RNQ',
        receivedAt: '2026-12-06T10:32:00Z',
      },
      {
        resourceType: 'Observation',
        id: 'o1',
        feedId: 'kgh-pas',
        sourceOrg: 'RNQ',
        receivedAt: '2026-12-06T10:00:00Z',
      },
    ],
    feeds: [
      {
        id: 'kgh-pas',
        orgOds: 'RNQ',
        orgName: 'Kettering General Hospital',
        orgKind: 'acute',
        systemName: 'PAS',
        status: 'live',
      },
      {
        id: 'sc',
        orgOds: 'LA001',
        orgName: 'Council social care',
        orgKind: 'social-care',
        systemName: null,
        status: 'testing',
      },
    ],
    orgs: new Map([
      ['RNQ', { name: 'Kettering General Hospital', kind: 'acute' }],
      ['LA001', { name: 'Council social care', kind: 'social-care' }],
    ]),
    access: {
      basis: 'relationship',
      categories: ['demographics', 'medications'],
      ownOrgOnly: false,
      restricted: false,
    },
    names: new Map(),
    now,
    ...over,
  };
}

describe('the viewer model of a record', () => {
  it('banner from the NHS-numbered Patient; address and phone shown; safeguarding flag in the banner', () => {
    const v = buildPatientView(input());
    assert.equal(v.banner.family, 'Testwell');
    assert.equal(v.banner.nhsNumber, '9434765919');
    assert.equal(v.banner.address, '1 Fictional Road, Kettering, NN16 0ZZ');
    assert.equal(v.banner.phone, '01632 960000');
    assert.deepEqual(
      v.banner.flags.map((f) => [f.text, f.safeguarding]),
      [['Child protection plan in household', true]],
    );
  });

  it('withholds address and contacts of a restricted record', () => {
    const v = buildPatientView(
      input({ access: { basis: 'relationship', categories: [], ownOrgOnly: false, restricted: true } }),
    );
    assert.equal(v.banner.address, null);
    assert.equal(v.banner.phone, null);
  });

  it('attributes every item to its organisation and system, with the latest arrival per source', () => {
    const v = buildPatientView(input());
    const kgh = v.sources.find((s) => s.orgName === 'Kettering General Hospital');
    assert.ok(kgh);
    assert.equal(kgh.system, 'PAS');
    assert.equal(kgh.updatedAt, '2026-12-06T10:32:00Z');
    assert.equal(kgh.items, 3);
    assert.equal(v.medicines[0]?.source, kgh.key);
    assert.equal(v.sources.find((s) => s.orgOds === 'LA001')?.status, 'testing');
  });

  it('derives an abnormal flag from the reference range when the source sent none', () => {
    const v = buildPatientView(input());
    assert.equal(v.results[0]?.flag, 'H');
    assert.equal(v.results[0]?.high, 5.3);
  });

  it('finds identity conflicts between linked records, and none where a partial date agrees', () => {
    const v = buildPatientView(input());
    assert.deepEqual(v.banner.identityConflicts, [], 'a year of birth agrees with the full date; case differs only');
    const conflicts = identityConflicts([
      { resourceType: 'Patient', id: 'a', birthDate: '1945-07-14', gender: 'female', name: [{ family: 'Testwell' }] },
      { resourceType: 'Patient', id: 'b', birthDate: '1945-07-15', gender: 'male', name: [{ family: 'Testwel' }] },
    ]);
    assert.equal(conflicts.length, 3);
    assert.match(conflicts[0] ?? '', /Date of birth: 1945-07-14 \(a\) and 1945-07-15 \(b\)/);
  });
});
