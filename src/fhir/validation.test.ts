import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isIcrError } from '../shared/errors.ts';
import type { ValidationIssue } from './validation.ts';
import { assertValid, initValidation, validateResource } from './validation.ts';

const obs = { resourceType: 'Observation', status: 'final', code: { text: 'Pulse' } };
const xhtml = (body: string): string => `<div xmlns="http://www.w3.org/1999/xhtml">${body}</div>`;

/** The errors only, as `expression: message`, for compact assertions. */
function errors(resource: unknown): string[] {
  return validateResource(resource)
    .filter((i: ValidationIssue) => i.severity === 'error')
    .map((i) => `${i.expression ?? ''}: ${i.message}`);
}

function expressions(resource: unknown): (string | undefined)[] {
  return validateResource(resource)
    .filter((i) => i.severity === 'error')
    .map((i) => i.expression);
}

test('initValidation indexes the standard R4 definitions once and reports the cost', () => {
  const first = initValidation();
  assert.ok(first.structureDefinitions > 200);
  assert.ok(first.valueSets > 200);
  assert.equal(initValidation(), first);
});

test('a valid resource has no issues, whatever its meta, narrative, extensions and id', () => {
  const patient = {
    resourceType: 'Patient',
    id: 'pat-1.A',
    meta: {
      versionId: '3',
      lastUpdated: '2024-05-01T10:00:00.123Z',
      profile: ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient'],
      security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' }],
    },
    text: { status: 'generated', div: xhtml('<p>Jo <b>Bloggs</b></p><br/><table><tr><td>x</td></tr></table>') },
    extension: [
      { url: 'https://example.org/ext', extension: [{ url: 'a', valueCoding: { system: 'urn:x', code: 'c' } }] },
    ],
    modifierExtension: [{ url: 'https://example.org/mod', valueBoolean: false }],
    identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9990000018' }],
    name: [
      { family: 'Bloggs', given: ['Jo', 'Ann'], _given: [null, { extension: [{ url: 'urn:e', valueString: 'x' }] }] },
    ],
    gender: 'female',
    birthDate: '1970-02-28',
    deceasedDateTime: '2020-01-01T10:00:00+01:00',
    managingOrganization: { reference: 'Organization/ods-X26' },
    generalPractitioner: [{ reference: 'https://fhir.example.nhs.uk/R4/Practitioner/123/_history/2' }],
  };
  assert.deepEqual(validateResource(patient), []);
  assertValid(patient);
});

test('a Binary larger than 1 MiB is accepted (R4 sets no limit; the HTTP body limit applies)', () => {
  const data = Buffer.alloc(3 * 1024 * 1024, 7).toString('base64');
  assert.deepEqual(validateResource({ resourceType: 'Binary', contentType: 'application/pdf', data }), []);
  assert.deepEqual(expressions({ resourceType: 'Binary', contentType: 'application/pdf', data: 'not base64!' }), [
    'Binary.data',
  ]);
});

test('unknown elements, at the root and nested', () => {
  assert.deepEqual(expressions({ resourceType: 'Patient', foo: 1 }), ['Patient.foo']);
  assert.deepEqual(expressions({ resourceType: 'Patient', name: [{ given: ['a'], nickname: 'x' }] }), [
    'Patient.name[0].nickname',
  ]);
  assert.deepEqual(expressions({ ...obs, valueFoo: 'x' }), ['Observation.valueFoo']);
});

test('a choice element named with a type it does not have is refused, even beside a valid value', () => {
  assert.deepEqual(errors({ ...obs, valueString: 'a', valueFoo: 'b' }), [
    'Observation.valueFoo: Invalid additional property "valueFoo"',
  ]);
  assert.deepEqual(expressions({ ...obs, valueString: 'a', valueStrin: 'b' }), ['Observation.valueStrin']);
  assert.deepEqual(expressions({ ...obs, valueString: 'a', _valueFoo: { id: 'x' } }), ['Observation._valueFoo']);
  assert.deepEqual(expressions({ ...obs, extension: [{ url: 'urn:x', valueCode: 'a', valueCodee: 'b' }] }), [
    'Observation.extension[0].valueCodee',
  ]);
  assert.deepEqual(
    expressions({ ...obs, component: [{ code: { text: 'c' }, valueQuantity: { value: 1 }, valueQty: { value: 2 } }] }),
    ['Observation.component[0].valueQty'],
  );
  // Two choice elements, each with one of its own types, are fine.
  assert.deepEqual(errors({ ...obs, valueString: 'a', effectiveDateTime: '2020-01-01' }), []);
});

test('a "_" property only beside a primitive element: medplum would merge it into a complex value', () => {
  // Read leniently, `_name` would overwrite the family sent in `name`; it is refused instead.
  assert.deepEqual(errors({ resourceType: 'Patient', name: [{ family: 'Smith' }], _name: [{ family: 'Jones' }] }), [
    'Patient._name: Invalid property "_name": only a primitive element may have a "_" property (name is a HumanName)',
  ]);
  assert.deepEqual(expressions({ ...obs, valueQuantity: { value: 1 }, _valueQuantity: { id: 'q' } }), [
    'Observation._valueQuantity',
  ]);
  assert.deepEqual(expressions({ resourceType: 'Patient', contact: [{ name: { family: 'A' }, _name: {} }] }), [
    'Patient.contact[0]._name',
  ]);
  // Beside a primitive (and a primitive choice) it is how R4 JSON carries ids and extensions.
  const ext = { extension: [{ url: 'http://example.org/x', valueString: 'y' }] };
  assert.deepEqual(errors({ resourceType: 'Patient', birthDate: '2000-01-01', _birthDate: ext }), []);
  assert.deepEqual(errors({ ...obs, valueString: 'high', _valueString: ext }), []);
});

test('wrong JSON types', () => {
  assert.deepEqual(errors({ resourceType: 'Patient', name: [{ given: ['Jo', 5] }] }), [
    'Patient.name[0].given[1]: Invalid JSON type: expected string, but got number',
  ]);
  assert.deepEqual(expressions({ resourceType: 'Patient', active: 'true' }), ['Patient.active']);
  assert.deepEqual(expressions({ ...obs, valueQuantity: { value: '1.5' } }), [
    'Observation.value.ofType(Quantity).value',
  ]);
  assert.deepEqual(expressions({ ...obs, valueInteger: 1.5 }), ['Observation.value.ofType(integer)']);
  assert.deepEqual(expressions({ ...obs, subject: 'Patient/1' }), ['Observation.subject']);
  assert.deepEqual(expressions({ resourceType: 'Patient', name: [5] }), ['Patient.name[0]']);
});

test('primitive formats: dates, instants, ids, codes, uris', () => {
  assert.deepEqual(errors({ resourceType: 'Patient', birthDate: '2023-02-29' }), [
    'Patient.birthDate: Invalid date value',
  ]);
  assert.deepEqual(errors({ resourceType: 'Patient', birthDate: '20230101' }), [
    'Patient.birthDate: Invalid date format',
  ]);
  assert.deepEqual(expressions({ ...obs, effectiveDateTime: '2020-01-01T10:00:00' }), [
    'Observation.effective.ofType(dateTime)',
  ]);
  assert.deepEqual(expressions({ ...obs, issued: '2020-01-01' }), ['Observation.issued']);
  assert.deepEqual(expressions({ resourceType: 'Patient', id: 'a_b' }), ['Patient.id']);
  assert.deepEqual(expressions({ resourceType: 'Patient', id: 'a'.repeat(65) }), ['Patient.id']);
  assert.deepEqual(expressions({ resourceType: 'Patient', gender: 'fe male' }), ['Patient.gender']);
  assert.deepEqual(expressions({ resourceType: 'Patient', identifier: [{ system: 'a b' }] }), [
    'Patient.identifier[0].system',
  ]);
  assert.deepEqual(expressions({ resourceType: 'Patient', meta: { lastUpdated: 'yesterday' } }), [
    'Patient.meta.lastUpdated',
  ]);
});

test('cardinality: an array for a single value, a single value for an array, required elements missing', () => {
  assert.deepEqual(errors({ resourceType: 'Patient', gender: ['male'] }), [
    'Patient.gender: Expected single value for property',
  ]);
  assert.deepEqual(errors({ resourceType: 'Patient', name: { family: 'x' } }), [
    'Patient.name: Expected array of values for property',
  ]);
  assert.deepEqual(errors({ resourceType: 'Observation', code: { text: 'x' } }), [
    'Observation.status: Missing required property',
  ]);
  const missing = validateResource({ resourceType: 'Observation', status: 'final' });
  assert.deepEqual(missing, [
    { severity: 'error', issue: 'required', expression: 'Observation.code', message: 'Missing required property' },
  ]);
  assert.deepEqual(expressions({ resourceType: 'Patient', extension: [{ valueString: 'x' }] }), [
    'Patient.extension[0].url',
  ]);
});

test('empty values, which R4 JSON forbids', () => {
  assert.deepEqual(expressions({ resourceType: 'Patient', name: [] }), ['Patient.name']);
  assert.deepEqual(expressions({ resourceType: 'Patient', gender: '' }), ['Patient.gender']);
  assert.deepEqual(expressions({ resourceType: 'Patient', name: [{}] }), ['Patient.name[0]']);
  assert.deepEqual(expressions({ resourceType: 'Patient', gender: null }), ['Patient.gender']);
});

test('required bindings on code, Coding and CodeableConcept', () => {
  assert.deepEqual(errors({ resourceType: 'Patient', gender: 'M' }), [
    'Patient.gender: Code "M" is not in the required value set http://hl7.org/fhir/ValueSet/administrative-gender',
  ]);
  assert.deepEqual(expressions({ ...obs, status: 'finished' }), ['Observation.status']);
  const allergy = { resourceType: 'AllergyIntolerance', patient: { reference: 'Patient/1' } };
  const system = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical';
  assert.deepEqual(errors({ ...allergy, clinicalStatus: { coding: [{ system, code: 'active' }] } }), []);
  assert.deepEqual(expressions({ ...allergy, clinicalStatus: { coding: [{ system, code: 'current' }] } }), [
    'AllergyIntolerance.clinicalStatus',
  ]);
  assert.deepEqual(expressions({ ...allergy, clinicalStatus: { text: 'active' } }), [
    'AllergyIntolerance.clinicalStatus',
  ]);
});

test('choice types: one value only, with the type named in the expression', () => {
  assert.deepEqual(errors({ ...obs, valueString: 'a', valueBoolean: true }), [
    'Observation.value: Only one of valueString, valueBoolean may be present',
  ]);
  assert.deepEqual(expressions({ ...obs, valueString: 5 }), ['Observation.value.ofType(string)']);
  assert.deepEqual(
    expressions({ resourceType: 'Patient', extension: [{ url: 'urn:x', valueString: 'a', valueCode: 'b' }] }),
    ['Patient.extension[0].value'],
  );
});

test('reference targets come from the targetProfiles of the element', () => {
  assert.deepEqual(errors({ ...obs, subject: { reference: 'Medication/1' } }), [
    'Observation.subject.reference: Reference to Medication is not allowed here; expected one of Patient, Group, Device, Location',
  ]);
  assert.deepEqual(expressions({ ...obs, subject: { reference: 'https://x.example/fhir/Medication/1' } }), [
    'Observation.subject.reference',
  ]);
  assert.deepEqual(expressions({ ...obs, subject: { reference: 'Medication?code=123' } }), [
    'Observation.subject.reference',
  ]);
  assert.deepEqual(expressions({ ...obs, subject: { reference: 'patient/1' } }), ['Observation.subject.reference']);
  assert.deepEqual(expressions({ ...obs, subject: { reference: 'Patient/1', type: 'Group' } }), [
    'Observation.subject.type',
  ]);
  assert.deepEqual(
    expressions({
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      subject: { reference: 'Patient/1' },
      medicationReference: { reference: 'Patient/2' },
    }),
    ['MedicationRequest.medication.ofType(Reference).reference'],
  );
  // Reference(Any) (targetProfile Resource) allows every type; urn:uuid and display-only references are not checked.
  const provenance = {
    resourceType: 'Provenance',
    recorded: '2020-01-01T00:00:00Z',
    agent: [{ who: { reference: 'Patient/1' } }],
  };
  assert.deepEqual(
    errors({
      ...provenance,
      target: [{ reference: 'Binary/1' }, { reference: 'urn:uuid:4d0b9a1e-8f4c-4f0e-9a54-1b1d2f3c4d5e' }],
    }),
    [],
  );
  assert.deepEqual(errors({ ...obs, subject: { display: 'Jo Bloggs' } }), []);
});

test('contained resources are validated, referenced and not nested', () => {
  const contained = (c: unknown[], ref = '#p'): unknown => ({ ...obs, contained: c, subject: { reference: ref } });
  assert.deepEqual(errors(contained([{ resourceType: 'Patient', id: 'p' }])), []);
  assert.deepEqual(expressions(contained([{ resourceType: 'Patient', id: 'p', foo: 1 }])), [
    'Observation.contained[0].foo',
  ]);
  assert.deepEqual(expressions(contained([{ resourceType: 'Foo', id: 'p' }])), [
    'Observation.contained[0].resourceType',
  ]);
  assert.deepEqual(expressions(contained([{ id: 'p' }])), ['Observation.contained[0].resourceType']);
  assert.deepEqual(expressions(contained([{ resourceType: 'Patient', id: 'p', contained: [] }])), [
    'Observation.contained[0].contained',
  ]);
  // ref-1 (a local reference needs its contained resource) and dom-3 (a contained resource needs a reference).
  assert.deepEqual(errors(contained([{ resourceType: 'Patient', id: 'p' }], '#q')), [
    'Observation.subject: Constraint ref-1 not met: SHALL have a contained resource if a local reference is provided',
    'Observation.contained[0]: Constraint dom-3 not met: a contained resource SHALL be referred to from elsewhere in the resource',
  ]);
});

test('narrative XHTML is checked against txt-1 and txt-2', () => {
  const withDiv = (div: string): unknown => ({ resourceType: 'Patient', text: { status: 'generated', div } });
  assert.deepEqual(errors(withDiv(xhtml('<p>ok</p>'))), []);
  for (const bad of [
    '<p>no div</p>',
    '<div>no namespace</div>',
    xhtml('<script>alert(1)</script>'),
    xhtml('<p onclick="x()">a</p>'),
    xhtml('<a href="javascript:x()">a</a>'),
    xhtml('<p>unclosed'),
    xhtml('   '),
  ]) {
    assert.deepEqual(expressions(withDiv(bad)), ['Patient.text.div'], bad);
  }
});

test('invariants: org-1 (medplum skips it), data-type and contained-resource invariants', () => {
  assert.deepEqual(expressions({ resourceType: 'Organization', active: true }), ['Organization']);
  assert.deepEqual(errors({ resourceType: 'Organization', name: 'Practice' }), []);
  // per-1: if present, start SHALL have a lower value than end
  const period = { start: '2020-02-01', end: '2020-01-01' };
  assert.deepEqual(expressions({ resourceType: 'Patient', name: [{ family: 'x', period }] }), [
    'Patient.name[0].period',
  ]);
});

test('only standard R4 is known: no Medplum resource types, no R4B SubscriptionStatus', () => {
  assert.deepEqual(expressions({ resourceType: 'Project', name: 'x' }), ['resourceType']);
  assert.deepEqual(expressions({ resourceType: 'SubscriptionStatus', status: 'active' }), ['resourceType']);
  const audit = {
    resourceType: 'AuditEvent',
    type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110110' },
    recorded: '2024-01-01T00:00:00Z',
    source: { observer: { reference: 'Device/1' } },
  };
  assert.deepEqual(errors({ ...audit, agent: [{ requestor: true, who: { reference: 'Practitioner/1' } }] }), []);
  // Medplum's definitions add Bot and ClientApplication to AuditEvent.agent.who; R4 does not.
  assert.deepEqual(expressions({ ...audit, agent: [{ requestor: true, who: { reference: 'Bot/1' } }] }), [
    'AuditEvent.agent[0].who.reference',
  ]);
});

test('assertValid: error codes for what is not a resource, not stored, or not valid', () => {
  const codeOf = (r: unknown): string => {
    try {
      assertValid(r);
      return 'valid';
    } catch (e) {
      assert.ok(isIcrError(e));
      return e.code;
    }
  };
  assert.equal(codeOf('Patient'), 'ICR_INVALID_RESOURCE');
  assert.equal(codeOf([]), 'ICR_INVALID_RESOURCE');
  assert.equal(codeOf({ id: '1' }), 'ICR_INVALID_RESOURCE');
  assert.equal(codeOf({ resourceType: 'Pateint' }), 'ICR_INVALID_RESOURCE');
  assert.equal(codeOf({ resourceType: 'Questionnaire', status: 'active' }), 'ICR_UNSUPPORTED_TYPE');
  assert.equal(codeOf({ resourceType: 'Patient', foo: 1 }), 'ICR_VALIDATION_FAILED');
  assert.equal(codeOf({ resourceType: 'Patient' }), 'valid');

  try {
    assertValid({ resourceType: 'Patient', gender: 'M', birthDate: 'x' });
    assert.fail('should throw');
  } catch (e) {
    assert.ok(isIcrError(e));
    assert.equal(e.status, 422);
    assert.equal(e.message, 'Patient failed validation (2 problems)');
    assert.deepEqual(
      e.details.map((d) => d.expression),
      ['Patient.birthDate', 'Patient.gender'],
    );
  }
});

test('validation is linear in the input and an error carries at most 100 issues, then how many more', () => {
  initValidation();
  const notes = (n: number) => ({ ...obs, note: Array.from({ length: n }, (_, i) => i) });
  // 20,000 wrong-typed items took 14 s when merging the issues was quadratic.
  const issues = validateResource(notes(20_000));
  assert.equal(issues.length, 20_000);
  assert.equal(issues[19_999]?.expression, 'Observation.note[19999]');
  try {
    assertValid(notes(20_000));
    assert.fail('should throw');
  } catch (e) {
    assert.ok(isIcrError(e));
    assert.equal(e.code, 'ICR_VALIDATION_FAILED');
    assert.equal(e.details.length, 101);
    assert.equal(e.details[100]?.message, '19900 more problems were found and not listed');
    assert.equal(e.message, 'Observation failed validation (20000 problems)');
  }
});
