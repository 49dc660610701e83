import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { patientIdFromReference, patientIdOf } from './patient-compartment.ts';

describe('patientIdOf', () => {
  it('is the id itself for a Patient', () => {
    assert.equal(patientIdOf({ resourceType: 'Patient', id: 'p1' }), 'p1');
  });
  it('follows subject and patient references', () => {
    assert.equal(patientIdOf({ resourceType: 'Observation', subject: { reference: 'Patient/p2' } }), 'p2');
    assert.equal(patientIdOf({ resourceType: 'AllergyIntolerance', patient: { reference: 'Patient/p3' } }), 'p3');
  });
  it('finds the patient among appointment participants', () => {
    const appt = {
      resourceType: 'Appointment',
      participant: [{ actor: { reference: 'Practitioner/d1' } }, { actor: { reference: 'Patient/p4' } }],
    };
    assert.equal(patientIdOf(appt), 'p4');
  });
  it('ignores references to other types and resources without a subject', () => {
    assert.equal(patientIdOf({ resourceType: 'Observation', subject: { reference: 'Group/g1' } }), null);
    assert.equal(patientIdOf({ resourceType: 'Organization', id: 'o1' }), null);
  });
  it('reads absolute and versioned references', () => {
    assert.equal(patientIdFromReference('http://x.org/fhir/Patient/abc/_history/3'), 'abc');
    assert.equal(patientIdFromReference('urn:uuid:123'), null);
  });
});
