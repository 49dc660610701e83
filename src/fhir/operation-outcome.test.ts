import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IcrError } from '../shared/errors.ts';
import { ICR_ERROR_CODE_SYSTEM, operationOutcome, toOperationOutcome } from './operation-outcome.ts';

test('an IcrError without details becomes one issue with its status, issue code and stable code', () => {
  const { status, body } = toOperationOutcome(new IcrError('ICR_NOT_FOUND', 'Patient/abc is not known'));
  assert.equal(status, 404);
  assert.deepEqual(body, {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'error',
        code: 'not-found',
        details: {
          coding: [{ system: ICR_ERROR_CODE_SYSTEM, code: 'ICR_NOT_FOUND' }],
          text: 'Patient/abc is not known',
        },
        diagnostics: 'Patient/abc is not known',
      },
    ],
  });
});

test('each detail of an IcrError becomes one issue with its expression', () => {
  const err = new IcrError('ICR_VALIDATION_FAILED', 'Patient failed validation (2 problems)', {
    details: [
      {
        message: 'Invalid additional property "foo"',
        expression: 'Patient.foo',
        severity: 'error',
        issue: 'structure',
      },
      { message: 'Invalid date format', expression: 'Patient.birthDate' },
      { message: 'Looks odd', severity: 'warning', issue: 'informational' },
    ],
  });
  const { status, body } = toOperationOutcome(err);
  assert.equal(status, 422);
  assert.equal(body.issue.length, 3);
  assert.deepEqual(body.issue[0], {
    severity: 'error',
    code: 'structure',
    details: {
      coding: [{ system: ICR_ERROR_CODE_SYSTEM, code: 'ICR_VALIDATION_FAILED' }],
      text: 'Invalid additional property "foo"',
    },
    diagnostics: 'Invalid additional property "foo"',
    expression: ['Patient.foo'],
  });
  // A detail without severity or issue code takes the error's.
  assert.equal(body.issue[1]?.severity, 'error');
  assert.equal(body.issue[1]?.code, 'processing');
  assert.deepEqual(body.issue[1]?.expression, ['Patient.birthDate']);
  // No expression: no expression array at all.
  assert.equal(body.issue[2]?.severity, 'warning');
  assert.equal('expression' in (body.issue[2] ?? {}), false);
});

test('any other error is a 500 that reveals nothing of the internal message or stack', () => {
  const secret = new Error('duplicate key value violates unique constraint "resources_pkey" for Patient John Smith');
  for (const err of [secret, new TypeError('x is undefined'), 'a string', undefined, { message: 'object' }]) {
    const { status, body } = toOperationOutcome(err);
    assert.equal(status, 500);
    const text = JSON.stringify(body);
    assert.doesNotMatch(text, /duplicate|Smith|undefined|string|object|stack|at /);
    assert.equal(body.issue[0]?.code, 'exception');
    assert.equal(body.issue[0]?.details?.coding?.[0]?.code, 'ICR_INTERNAL');
  }
});

test('a 500 carries the request id when one is given', () => {
  const { body } = toOperationOutcome(new Error('boom'), { requestId: 'req-42' });
  assert.equal(body.issue[0]?.diagnostics, 'An internal error occurred. Quote request id req-42 to support.');
  assert.doesNotMatch(JSON.stringify(body), /boom/);
});

test('an IcrError with code ICR_INTERNAL is treated as any other internal error', () => {
  const { status, body } = toOperationOutcome(new IcrError('ICR_INTERNAL', 'pool exhausted on host db-3'));
  assert.equal(status, 500);
  assert.doesNotMatch(JSON.stringify(body), /db-3/);
});

test('operationOutcome builds an informational outcome', () => {
  assert.deepEqual(operationOutcome('information', 'informational', 'All OK'), {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'information', code: 'informational', details: { text: 'All OK' }, diagnostics: 'All OK' }],
  });
});
