import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { syntheticNhsNumbers } from '../synthetic.ts';
import { formatNhsNumber, isValidNhsNumber, nhsCheckDigit, normaliseNhsNumber } from './nhs-number.ts';

describe('NHS numbers', () => {
  it('computes the Modulus 11 check digit', () => {
    assert.equal(nhsCheckDigit('999000001'), 8);
    // 943 476 591 9 is the NHS Digital documented example.
    assert.equal(nhsCheckDigit('943476591'), 9);
    assert.equal(isValidNhsNumber('9434765919'), true);
    assert.equal(isValidNhsNumber('9434765918'), false);
  });

  it('has no valid number when the check digit would be 10', () => {
    const first9 = Array.from({ length: 200 }, (_, i) => `999${String(i).padStart(6, '0')}`).find(
      (d) => nhsCheckDigit(d) === undefined,
    );
    assert.ok(first9, 'some 999 serial has remainder 1');
    for (let d = 0; d <= 9; d++) assert.equal(isValidNhsNumber(`${first9}${d}`), false);
  });

  it('accepts spaces and dashes, refuses anything else', () => {
    assert.equal(normaliseNhsNumber(' 999 000 0018 '), '9990000018');
    assert.equal(normaliseNhsNumber('999-000-0018'), '9990000018');
    assert.equal(normaliseNhsNumber('999.000.0018'), undefined);
    assert.equal(normaliseNhsNumber('99900000181'), undefined);
    assert.equal(normaliseNhsNumber('999000001'), undefined);
    assert.equal(normaliseNhsNumber(''), undefined);
    assert.equal(normaliseNhsNumber(undefined), undefined);
  });

  it('refuses ten identical digits as a placeholder', () => {
    assert.equal(isValidNhsNumber('0000000000'), false);
    assert.equal(isValidNhsNumber('9999999999'), false);
  });

  it('displays 3-3-4', () => {
    assert.equal(formatNhsNumber('9990000018'), '999 000 0018');
  });

  it('makes valid synthetic numbers in the 999 range', () => {
    for (const n of syntheticNhsNumbers(500)) {
      assert.match(n, /^999\d{7}$/);
      assert.equal(isValidNhsNumber(n), true);
    }
  });
});
