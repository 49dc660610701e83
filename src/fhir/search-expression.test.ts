import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { evalFhirPath } from '@medplum/core';
import { compileFast, compilePath, referenceTargetType } from './search-expression.ts';
import { searchParamsFor } from './search-params.ts';
import { isSupportedType, SUPPORTED_TYPES } from './types.ts';

const run = (expr: string, input: object) => compilePath(expr)(input).map((n) => n.value);

describe('compiled search expressions', () => {
  const obs = {
    resourceType: 'Observation',
    subject: { reference: 'https://x.example/fhir/Patient/p1' },
    performer: [{ reference: 'Practitioner/d1' }, { type: 'Organization', identifier: { value: 'X1' } }],
    valueQuantity: { value: 5 },
    effectivePeriod: { start: '2020' },
    component: [{ code: { text: 'a' }, valueString: 's' }],
    extension: [{ url: 'http://e/x', valueCode: 'c' }],
  };

  test('paths, unions, choice types and ofType', () => {
    assert.deepEqual(run('Observation.value.ofType(Quantity)', obs), [{ value: 5 }]);
    assert.deepEqual(run('(Observation.value.ofType(Quantity)) | (Observation.value.ofType(SampledData))', obs), [
      { value: 5 },
    ]);
    assert.deepEqual(run('Observation.effective', obs), [{ start: '2020' }]);
    assert.deepEqual(compilePath('Observation.effective')(obs)[0]?.type, 'Period');
    assert.deepEqual(run('Observation.value.ofType(string)', obs), []);
    assert.deepEqual(run('Observation.component.value.as(string)', obs), ['s']);
    assert.deepEqual(run('(Observation.component.value as string)', obs), ['s']);
    assert.deepEqual(run('Patient.name', obs), []);
  });

  test('where(resolve() is T) reads the reference type, relative, absolute or Reference.type', () => {
    assert.deepEqual(run('Observation.subject.where(resolve() is Patient)', obs), [obs.subject]);
    assert.deepEqual(run('Observation.performer.where(resolve() is Organization)', obs), [obs.performer[1]]);
    assert.equal(referenceTargetType({ reference: 'Patient/1/_history/2' }), 'Patient');
    assert.equal(referenceTargetType({ reference: 'urn:uuid:1' }), undefined);
  });

  test("where(x='lit'), extension('url'), and the deceased idiom", () => {
    const p = {
      resourceType: 'Patient',
      telecom: [
        { system: 'email', value: 'a' },
        { system: 'phone', value: '1' },
      ],
    };
    assert.deepEqual(run("Patient.telecom.where(system='email')", p), [{ system: 'email', value: 'a' }]);
    assert.deepEqual(run("Observation.extension('http://e/x').value", obs), ['c']);
    const deceased = 'Patient.deceased.exists() and Patient.deceased != false';
    assert.ok(compileFast(deceased));
    assert.deepEqual(run(deceased, { resourceType: 'Patient', deceasedDateTime: '2020' }), [true]);
    assert.deepEqual(run(deceased, { resourceType: 'Patient', deceasedBoolean: false }), [false]);
    assert.deepEqual(run(deceased, { resourceType: 'Patient' }), [false]);
  });

  test('anything outside the subset falls back to the FHIRPath engine', () => {
    const c = compilePath('Patient.name.count() > 1');
    assert.equal(c.fast, false);
    assert.deepEqual(
      c({ resourceType: 'Patient', name: [{}, {}] }).map((n) => n.value),
      [true],
    );
  });

  test('every registered expression compiles to the fast form', () => {
    for (const t of SUPPORTED_TYPES) {
      for (const p of searchParamsFor(t)) {
        assert.ok(compilePath(p.expression).fast, `${t}.${p.code}: ${p.expression}`);
        for (const c of p.components) assert.ok(compilePath(c.expression).fast, c.expression);
      }
    }
  });

  const examples = path.resolve(import.meta.dirname, '../../../shared/data/fhir-examples/r4-spec');
  test('agrees with the FHIRPath engine on the R4 examples', { skip: !existsSync(examples) }, () => {
    let compared = 0;
    for (const file of readdirSync(examples).filter((f) => f.endsWith('.json'))) {
      const resource = JSON.parse(readFileSync(path.join(examples, file), 'utf8')) as { resourceType: string };
      // observation-decimal.json: the engine treats 1e-245 and 1e-22 as equal when removing duplicates.
      if (!isSupportedType(resource.resourceType) || file === 'observation-decimal.json') continue;
      for (const p of searchParamsFor(resource.resourceType)) {
        if (p.expression.includes('resolve()') || p.expression.includes('exists()')) continue;
        // Compared as sets: a FHIRPath union removes duplicates; the index rows are de-duplicated anyway.
        const ours = [...new Set(compilePath(p.expression)(resource).map((n) => JSON.stringify(n.value)))].sort();
        const theirs = [...new Set(evalFhirPath(p.expression, resource).map((v) => JSON.stringify(v)))].sort();
        // The engine's union also drops items it deems equal (Quantities by value and unit), so for unions
        // ours may hold more; every item it finds must be among ours.
        if (p.expression.includes('|')) for (const v of theirs) assert.ok(ours.includes(v), `${file} ${p.code}: ${v}`);
        else assert.deepEqual(ours, theirs, `${file} ${p.code}: ${p.expression}`);
        compared++;
      }
    }
    assert.ok(compared > 1000, String(compared));
  });
});
