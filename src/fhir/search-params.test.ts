import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { expressionFor, getSearchParam, searchParamsFor, splitUnion } from './search-params.ts';
import { SUPPORTED_TYPES } from './types.ts';

describe('search-parameter registry', () => {
  test('every supported type has the common parameters', () => {
    for (const t of SUPPORTED_TYPES) {
      const codes = new Set(searchParamsFor(t).map((p) => p.code));
      for (const c of ['_id', '_lastUpdated', '_profile', '_tag', '_security', '_source'])
        assert.ok(codes.has(c), `${t} ${c}`);
    }
  });

  test('expressions are cut down to the one resource type', () => {
    const code = getSearchParam('Condition', 'code');
    assert.equal(code?.expression, 'Condition.code');
    assert.equal(getSearchParam('Patient', '_id')?.expression, 'Patient.id');
    assert.equal(
      getSearchParam('Observation', 'patient')?.expression,
      'Observation.subject.where(resolve() is Patient)',
    );
    assert.deepEqual(getSearchParam('Observation', 'patient')?.targets, ['Patient']);
  });

  test('special and text parameters are not claimed; phonetic is not claimed', () => {
    assert.equal(getSearchParam('Location', 'near'), undefined);
    assert.equal(getSearchParam('Patient', '_text'), undefined);
    assert.equal(getSearchParam('Patient', '_content'), undefined);
    assert.equal(getSearchParam('Patient', 'phonetic'), undefined);
    assert.equal(searchParamsFor('Nonsense').length, 0);
  });

  test('Observation composites are registered with token first', () => {
    const cvq = getSearchParam('Observation', 'code-value-quantity');
    assert.equal(cvq?.type, 'composite');
    assert.deepEqual(
      cvq?.components.map((c) => c.type),
      ['token', 'quantity'],
    );
    assert.equal(getSearchParam('DocumentReference', 'relationship')?.components[1]?.type, 'reference');
  });

  test('splitUnion respects parentheses and quotes', () => {
    assert.deepEqual(splitUnion("(A.b | A.c) | A.d.where(x='a|b')"), ['(A.b | A.c)', "A.d.where(x='a|b')"]);
    assert.equal(
      expressionFor('(Observation.value.ofType(Quantity)) | (Condition.x)', 'Observation'),
      '(Observation.value.ofType(Quantity))',
    );
  });

  test('the registry holds several hundred parameters', () => {
    const n = SUPPORTED_TYPES.reduce((acc, t) => acc + searchParamsFor(t).length, 0);
    assert.ok(n > 500, String(n));
  });
});
