import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ago, dateTime, duration, nhsNumber, signed } from './format.ts';

describe('admin portal formatting', () => {
  it('writes times in NHS style, in UTC', () => {
    assert.equal(dateTime('2026-12-06T14:05:09.123Z'), '6 Dec 2026, 14:05 UTC');
    assert.equal(dateTime('2026-01-31T00:00:00Z'), '31 Jan 2026, 00:00 UTC');
    assert.equal(dateTime(null), '');
    assert.equal(dateTime('not a date'), '');
  });

  it('writes durations and ages in words', () => {
    assert.equal(duration(1), '1 second');
    assert.equal(duration(59.6), '1 minute');
    assert.equal(duration(125), '2 minutes');
    assert.equal(duration(3600), '1 hour');
    assert.equal(duration(3600 + 5 * 60), '1 hour 5 minutes');
    assert.equal(duration(3 * 86400), '3 days');
    const now = new Date('2026-12-06T12:00:00Z');
    assert.equal(ago('2026-12-06T11:56:00Z', now), '4 minutes ago');
    assert.equal(ago(null, now), 'never');
    assert.equal(ago('2026-12-06T12:00:00Z', now), 'just now');
  });

  it('groups NHS numbers 3 3 4 and signs weights', () => {
    assert.equal(nhsNumber('9434765919'), '943 476 5919');
    assert.equal(nhsNumber('12345'), '12345');
    assert.equal(signed(7.254), '+7.25');
    assert.equal(signed(-3.1), '\u22123.1');
    assert.equal(signed(0.001), '0');
  });
});
