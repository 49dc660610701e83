import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collectReferences, isConditionalReference, isUrnReference, rewriteReferences } from './references.ts';

const P = 'urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0';
const E = 'urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a';

describe('bundle references', () => {
  it('classifies references', () => {
    assert.equal(isConditionalReference('Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9990000018'), true);
    assert.equal(isConditionalReference('Patient/123'), false);
    assert.equal(isConditionalReference('http://x/fhir/Patient?x=1'), false);
    assert.equal(isUrnReference(P), true);
    assert.equal(isUrnReference('urn:oid:1.2.3'), true);
    assert.equal(isUrnReference('Patient/1'), false);
  });

  it('collects every reference, contained resources and nested arrays included', () => {
    const obs = {
      resourceType: 'Observation',
      subject: { reference: P },
      encounter: { reference: E },
      performer: [{ reference: 'Practitioner/1' }, { display: 'no reference' }],
      contained: [{ resourceType: 'Specimen', id: 's', subject: { reference: P } }],
      hasMember: [{ reference: 'Observation?code=1234' }],
    };
    assert.deepEqual(collectReferences(obs), [P, E, 'Practitioner/1', P, 'Observation?code=1234']);
  });

  it('rewrites urn:uuid and conditional references, leaves others, and does not modify its input', () => {
    const input = {
      resourceType: 'Observation',
      subject: { reference: P, display: P },
      focus: [{ reference: 'Patient?identifier=a|b' }, { reference: 'Patient/keep' }],
      derivedFrom: [{ reference: 'urn:uuid:11111111-1111-4111-8111-111111111111' }],
      text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml"><a href="${P}">patient</a></div>` },
      extension: [{ url: 'http://example.org/x', valueUri: E }],
      note: [{ text: `mentions ${P} in free text` }],
    };
    const before = structuredClone(input);
    const map = new Map([
      [P, 'Patient/p1'],
      [E, 'Encounter/e1'],
      ['Patient?identifier=a|b', 'Patient/p2'],
    ]);
    const out = rewriteReferences(input, map);
    assert.deepEqual(input, before);
    assert.equal(out.subject.reference, 'Patient/p1');
    assert.equal(out.subject.display, 'Patient/p1', 'a string that is exactly a bundle urn is a uri reference');
    assert.deepEqual(out.focus, [{ reference: 'Patient/p2' }, { reference: 'Patient/keep' }]);
    assert.equal(
      out.derivedFrom[0]?.reference,
      'urn:uuid:11111111-1111-4111-8111-111111111111',
      'unknown urns are left',
    );
    assert.equal(out.text.div, '<div xmlns="http://www.w3.org/1999/xhtml"><a href="Patient/p1">patient</a></div>');
    assert.equal(out.extension[0]?.valueUri, 'Encounter/e1');
    assert.equal(out.extension[0]?.url, 'http://example.org/x');
    assert.equal(out.note[0]?.text, `mentions ${P} in free text`, 'free text is not a reference');
  });

  it('keeps primitives, nulls and numbers, and cannot be used to change a prototype', () => {
    const input = JSON.parse('{"a":[1,true,null,"x"],"__proto__":{"polluted":true}}') as Record<string, unknown>;
    const out = rewriteReferences(input, new Map());
    assert.deepEqual(out.a, [1, true, null, 'x']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
  });
});
