import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isIcrError } from '../shared/errors.ts';
import { checkJsonLimits } from './json-limits.ts';

const limits = { maxJsonDepth: 5, maxArrayLength: 3, maxStringLength: 12 };

function refusal(value: unknown): { message: string; expression: string | undefined } {
  try {
    checkJsonLimits(value, limits);
  } catch (e) {
    assert.ok(isIcrError(e));
    assert.equal(e.code, 'ICR_LIMIT_EXCEEDED');
    return { message: e.message, expression: e.details[0]?.expression };
  }
  assert.fail('should be refused');
}

test('values within the limits pass', () => {
  checkJsonLimits({ resourceType: 'Patient', name: [{ given: ['a', 'b', 'c'] }] }, limits);
  checkJsonLimits({ resourceType: 'Binary', data: 'x'.repeat(100) }, limits);
  checkJsonLimits('short', limits);
  checkJsonLimits(null, limits);
});

test('depth, array length and string length are refused naming the element', () => {
  assert.deepEqual(refusal({ resourceType: 'Patient', a: { b: { c: { d: { e: {} } } } } }), {
    message: 'The JSON is nested deeper than 5 levels',
    expression: 'Patient.a.b.c.d.e',
  });
  assert.deepEqual(refusal({ resourceType: 'Patient', name: [1, 2, 3, 4] }), {
    message: 'An array has more than 3 items',
    expression: 'Patient.name',
  });
  assert.deepEqual(refusal({ resourceType: 'Patient', name: [{ given: ['ok', 'x'.repeat(13)] }] }), {
    message: 'A string is longer than 12 characters',
    expression: 'Patient.name[0].given[1]',
  });
  assert.equal(refusal([[[[[[]]]]]]).expression, '$[0][0][0][0][0]');
});

test('a body nested 100,000 deep is refused without overflowing the stack', () => {
  let v: unknown = {};
  for (let i = 0; i < 100_000; i++) v = { a: v };
  assert.equal(refusal(v).message, 'The JSON is nested deeper than 5 levels');
});
