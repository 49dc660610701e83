import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { entryId } from './entry-id.ts';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('audit entry ids', () => {
  it('are version 7 UUIDs whose first 48 bits are the time in milliseconds', () => {
    const at = new Date('2026-12-06T15:30:00.123Z');
    const id = entryId(at);
    assert.match(id, V7);
    assert.equal(parseInt(id.replaceAll('-', '').slice(0, 12), 16), at.getTime());
  });

  it('sort in time order, across milliseconds and the 32-bit boundary of the time', () => {
    const times = [
      0,
      1,
      2 ** 32 - 1,
      2 ** 32,
      Date.parse('2026-12-06T15:30:00Z'),
      Date.parse('2026-12-06T15:30:00.001Z'),
    ];
    const ids = times.map((t) => entryId(new Date(t)));
    assert.deepEqual([...ids].sort(), ids);
    for (const [i, t] of times.entries()) assert.equal(parseInt(ids[i]?.replaceAll('-', '').slice(0, 12) ?? '', 16), t);
  });

  it('differ within one millisecond (74 random bits)', () => {
    const at = new Date();
    const ids = new Set(Array.from({ length: 10_000 }, () => entryId(at)));
    assert.equal(ids.size, 10_000);
  });
});
