/**
 * The single-pass validator (validation-walk.ts) must report exactly what the two-pass validation before it
 * reported: @medplum/core's `validateResource` plus OpenICR's checks, merged (test/helpers/validation-oracle.ts).
 * Same issues, same order, same severity, issue code, expression and message, over every Synthea resource
 * and R4 example of a stored type, and deterministic invalid variants of them (test/helpers/validation-corpus.ts).
 *
 * The checks for hostile input that medplum lets through (validation-hardening.ts: an object where a
 * primitive belongs, inherited element names, lone surrogates, malformed reference ids) come on top: they
 * are set aside for the comparison, and may only ever add issues (never change or drop medplum's).
 *
 * The data lives outside the repository in ../shared/data; the test skips when it is absent.
 */

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JsonObject, Sample } from '../../test/helpers/validation-corpus.ts';
import {
  corpusAvailable,
  dataDir,
  mutations,
  specExamples,
  syntheaResources,
} from '../../test/helpers/validation-corpus.ts';
import { validateWithMedplum } from '../../test/helpers/validation-oracle.ts';
import { isHardeningIssue } from './validation-hardening.ts';
import { initValidation, validateResource } from './validation.ts';

/** One Synthea resource in this many is mutated (all are compared unmutated). */
const SYNTHEA_MUTATION_STRIDE = 25;

interface Tally {
  compared: number;
  withErrors: number;
  /** Samples where the hardening checks added issues. */
  hardened: number;
  mismatches: string[];
}

/** The issues of the single-pass validator, less those the hardening checks add on top. */
function validateAsBefore(resource: JsonObject): { issues: ReturnType<typeof validateResource>; hardened: boolean } {
  const all = validateResource(resource);
  const issues = all.filter((i) => !isHardeningIssue(i));
  return { issues, hardened: issues.length !== all.length };
}

function compare(samples: Iterable<Sample>, tally: Tally): void {
  for (const { name, resource } of samples) {
    // Each validator gets its own copy: medplum's writes `_name` extensions of complex values into it.
    const expected = validateWithMedplum(structuredClone(resource));
    const { issues: actual, hardened } = validateAsBefore(structuredClone(resource));
    tally.compared++;
    if (hardened) tally.hardened++;
    if (expected.some((i) => i.severity === 'error')) tally.withErrors++;
    try {
      assert.deepEqual(actual, expected);
    } catch (e) {
      tally.mismatches.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}

function* variants(samples: readonly Sample[], stride: number): Generator<Sample> {
  for (let i = 0; i < samples.length; i += stride) {
    const sample = samples[i] as Sample;
    yield* mutations(sample, i);
  }
}

function tally(): Tally {
  return { compared: 0, withErrors: 0, hardened: 0, mismatches: [] };
}

test('single-pass validation reports what medplum plus the OpenICR checks reported', async (t) => {
  if (!corpusAvailable()) {
    t.skip(`shared test data not found at ${dataDir}`);
    return;
  }
  initValidation();
  const synthea = syntheaResources();
  const examples = specExamples();
  assert.ok(synthea.length > 1000, `expected the Synthea bundles, found ${synthea.length} resources`);
  assert.ok(examples.length > 100, `expected the R4 examples, found ${examples.length}`);

  await t.test('every Synthea resource of a stored type', () => {
    const result = tally();
    compare(synthea, result);
    t.diagnostic(`Synthea: ${result.compared} resources compared`);
    assert.deepEqual(result.mismatches.slice(0, 5), []);
    assert.equal(result.hardened, 0, 'valid data must meet the hardening checks');
  });

  await t.test('every R4 example of a stored type', () => {
    const result = tally();
    compare(examples, result);
    t.diagnostic(`R4 examples: ${result.compared} compared, ${result.withErrors} with errors`);
    assert.deepEqual(result.mismatches.slice(0, 5), []);
    assert.equal(result.hardened, 0, 'the R4 examples must meet the hardening checks');
  });

  await t.test('invalid variants of the R4 examples', () => {
    const result = tally();
    compare(variants(examples, 1), result);
    t.diagnostic(
      `R4 example variants: ${result.compared} compared, ${result.withErrors} with errors, ${result.hardened} hardened`,
    );
    assert.ok(result.withErrors > result.compared / 2, 'most variants should be invalid');
    assert.deepEqual(result.mismatches.slice(0, 5), []);
  });

  await t.test('invalid variants of Synthea resources', () => {
    const result = tally();
    compare(variants(synthea, SYNTHEA_MUTATION_STRIDE), result);
    t.diagnostic(
      `Synthea variants: ${result.compared} compared, ${result.withErrors} with errors, ${result.hardened} hardened`,
    );
    assert.ok(result.withErrors > result.compared / 2, 'most variants should be invalid');
    assert.deepEqual(result.mismatches.slice(0, 5), []);
  });
});

test('hand-picked edge cases agree with the two-pass validation', () => {
  initValidation();
  const obs = { resourceType: 'Observation', status: 'final', code: { text: 'x' } };
  const cases: JsonObject[] = [
    { resourceType: 'Patient' },
    { resourceType: 'Observation' },
    { ...obs, valueQuantity: 'abc' },
    { ...obs, valueQuantity: 5 },
    { ...obs, valueQuantity: [{ value: 1 }] },
    { ...obs, subject: 'Patient/1' },
    { ...obs, subject: 'Patient/1', _subject: { reference: 'Patient/2' } },
    { ...obs, valueString: 'a', valueFoo: 1 },
    { ...obs, valueString: 'a', _valueBoolean: { id: 'x' } },
    { ...obs, _valueString: { id: 'x' } },
    { ...obs, _valueString: 'x' },
    { ...obs, valueString: 'a', _valueString: [{ id: 'x' }] },
    { ...obs, status: 'final', _status: { '0': 'x' } },
    { ...obs, component: [{ code: { text: 'a' }, valueInteger: 2147483648 }] },
    { ...obs, component: [{ code: { text: 'a' } }, null] },
    { ...obs, component: [[{ code: { text: 'a' } }]] },
    { ...obs, code: [{ text: 'x' }] },
    { ...obs, code: {} },
    { ...obs, code: { coding: [] } },
    { ...obs, extension: [{ url: 'urn:x' }] },
    { ...obs, extension: [{ url: 'urn:x', valueString: 'a', extension: [{ url: 'urn:y', valueCode: 'b' }] }] },
    {
      ...obs,
      contained: [{ resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Foo' } }] }],
    },
    { ...obs, contained: [{ resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 5 } }] }] },
    { ...obs, contained: [{ resourceType: 'Patient', id: 'p', _gender: 'x' }], subject: { reference: '#p' } },
    { resourceType: 'Patient', name: [{ given: ['a', null, 'b'], _given: [null, { id: 'g' }] }] },
    { resourceType: 'Patient', name: [{ family: 'x' }], _name: [{ family: 'y', foo: 1 }] },
    JSON.parse(
      '{"resourceType":"Patient","gender":"male","_gender":{"__proto__":{"id":"x"},"constructor":null}}',
    ) as JsonObject,
    { resourceType: 'Patient', constructor: 1, toString: 'x', hasOwnProperty: [] },
    {
      resourceType: 'Patient',
      birthDate: '2023-02-29',
      _birthDate: { extension: [{ url: 'urn:x', valueDate: '2023-02-30' }] },
    },
    { resourceType: 'Binary', contentType: 'text/plain', data: '====' },
    { resourceType: 'Patient', text: { status: 'generated', div: '<div>x</div>' }, active: 'yes' },
  ];
  const mismatches: string[] = [];
  for (const resource of cases) {
    const expected = validateWithMedplum(structuredClone(resource));
    const { issues: actual } = validateAsBefore(structuredClone(resource));
    try {
      assert.deepEqual(actual, expected);
    } catch (e) {
      mismatches.push(`${JSON.stringify(resource)}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  assert.deepEqual(mismatches, []);
});

test('the hardening checks refuse what medplum lets through, and only add to its issues', () => {
  initValidation();
  const cases: Array<[JsonObject, string]> = [
    [{ resourceType: 'Patient', constructor: 1, toString: 'x', hasOwnProperty: [] }, 'Patient.toString'],
    [{ resourceType: 'Patient', name: [{ valueOf: {} }] }, 'Patient.name[0].valueOf'],
    [
      {
        resourceType: 'Immunization',
        status: 'completed',
        vaccineCode: { text: { extension: [] } },
        patient: { reference: 'Patient/x' },
        occurrenceDateTime: '2020-01-01',
      },
      'Immunization.vaccineCode.text',
    ],
    [{ resourceType: 'Location', mode: {} }, 'Location.mode'],
    [{ resourceType: 'Patient', name: [{ family: 'a\ud800' }] }, 'Patient.name[0].family'],
    [
      {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        subject: { reference: `Patient/${'a'.repeat(65)}` },
      },
      'Observation.subject.reference',
    ],
    [
      {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        valueString: 'x',
        _valueString: { toString: 1 },
      },
      'Observation.value.ofType(string).toString',
    ],
  ];
  for (const [resource, expression] of cases) {
    const expected = validateWithMedplum(structuredClone(resource));
    const all = validateResource(structuredClone(resource));
    const added = all.filter(isHardeningIssue);
    assert.deepEqual(
      all.filter((i) => !isHardeningIssue(i)),
      expected,
      `${JSON.stringify(resource)}: medplum's issues unchanged`,
    );
    assert.ok(
      added.some((i) => i.expression === expression && i.severity === 'error'),
      `${JSON.stringify(resource)}: ${JSON.stringify(all)}`,
    );
  }
});
