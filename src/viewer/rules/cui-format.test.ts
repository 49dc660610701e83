import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cuiAge, cuiDate, cuiDateTime, cuiFreshness, cuiName, cuiNhsNumber } from './cui-format.ts';

describe('NHS CUI display rules', () => {
  const now = new Date('2026-12-06T10:32:00Z');
  it('dates as 14-Jul-1945; partial dates kept partial; instants in UK time', () => {
    assert.equal(cuiDate('1945-07-14'), '14-Jul-1945');
    assert.equal(cuiDate('1979'), '1979');
    assert.equal(cuiDate('1979-09'), 'Sep-1979');
    assert.equal(cuiDate('2026-06-30T23:30:00Z'), '01-Jul-2026', 'BST: 00:30 the next day in London');
    assert.equal(cuiDateTime('2026-12-06T10:32:00Z'), '06-Dec-2026 10:32');
    assert.equal(cuiDateTime('2026-07-01T09:05:00Z'), '01-Jul-2026 10:05');
  });
  it('ages: years from 2, months under 2 years, weeks, days', () => {
    assert.equal(cuiAge('1945-07-14', now), '81y');
    assert.equal(cuiAge('1945-12-07', now), '80y', 'the birthday is tomorrow');
    assert.equal(cuiAge('2025-06-01', now), '18m');
    assert.equal(cuiAge('2026-10-01', now), '9w');
    assert.equal(cuiAge('2026-12-01', now), '5d');
    assert.equal(cuiAge('1945', now), '', 'no age from a partial date');
  });
  it('names FAMILY, Given (Title); NHS numbers 3 3 4; freshness as a time today', () => {
    assert.equal(cuiName('Testwell', ['Alice', 'Jane'], ['Mrs']), 'TESTWELL, Alice Jane (Mrs)');
    assert.equal(cuiName('', []), 'Name not recorded');
    assert.equal(cuiNhsNumber('9434765919'), '943 476 5919');
    assert.equal(cuiNhsNumber('12345'), '12345');
    assert.equal(cuiFreshness('2026-12-06T09:15:00Z', now), '09:15');
    assert.equal(cuiFreshness('2026-12-01T09:15:00Z', now), '01-Dec-2026 09:15');
  });
});
