import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isInstantInRange } from './instant.ts';

test('FHIR dates and instants in the years 0001–9999 are accepted', () => {
  for (const t of [
    '2026-01-01',
    '2026-01-01T10:00+01:00',
    '2026-01-01T10:00:00.123456789Z',
    '9999-12-31T23:59:59Z',
    '0001-01-01T00:00:00Z',
    '2024-02-29T00:00:00Z',
  ]) {
    assert.equal(isInstantInRange(t), true, t);
  }
});

test('impossible dates and instants outside 0001–9999 are refused', () => {
  for (const t of [
    '9999-12-31T24:00:00Z',
    '9999-12-31T23:59:59-01:00',
    '0001-01-01T00:00:00+01:00',
    '0000-01-01',
    '10000-01-01',
    '2023-02-29',
    '2026-13-01',
    '2026-01-01T10:00:00+15:00',
    '2026-01-01T10:00:00',
    '2026-01-01 ',
  ]) {
    assert.equal(isInstantInRange(t), false, t);
  }
});
