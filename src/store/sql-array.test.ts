import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openTestDb, type TestDb, testDatabases } from '../../test/helpers/db.ts';
import { boolArray, encodeSqlArray, int4Array, SqlArray, textArray } from './sql-array.ts';

describe('encodeSqlArray (binary array format)', () => {
  it('writes the header, dimension and each element with its length', () => {
    const buf = encodeSqlArray(textArray(['a', null, 'é']));
    assert.deepEqual(
      [...buf],
      [
        ...[0, 0, 0, 1], // one dimension
        ...[0, 0, 0, 1], // has nulls
        ...[0, 0, 0, 25], // text
        ...[0, 0, 0, 3], // three elements
        ...[0, 0, 0, 1], // lower bound 1
        ...[0, 0, 0, 1, 0x61], // 'a'
        ...[0xff, 0xff, 0xff, 0xff], // null
        ...[0, 0, 0, 2, 0xc3, 0xa9], // 'é' in UTF-8
      ],
    );
  });

  it('writes an empty array with no dimensions', () => {
    assert.deepEqual([...encodeSqlArray(int4Array([]))], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 23]);
  });

  it('refuses an int4 element that is not a 32-bit integer', () => {
    assert.throws(() => encodeSqlArray(int4Array([1.5])), /out of range: 1.5/);
    assert.throws(() => encodeSqlArray(int4Array([2 ** 31])), /out of range/);
  });
});

for (const which of testDatabases) {
  describe(`SqlArray parameters (${which})`, () => {
    let t: TestDb;
    before(async () => {
      t = await openTestDb(which, { migrate: false });
    });
    after(async () => t.close());

    it('arrive as the same values, nulls, quotes, backslashes, braces and non-ASCII text included', async () => {
      const texts = ['plain', null, 'with "quotes"', 'back\\slash', '{braces,comma}', 'NULL', '', 'Zoë 😀', ' lead'];
      const res = await t.db.query<{ t: string | null; o: string }>(
        'select t, o::text from unnest($1::text[]) with ordinality as x(t, o) order by o',
        [textArray(texts)],
      );
      assert.deepEqual(
        res.rows.map((r) => r.t),
        texts,
      );
    });

    it('int4 and bool arrays, and empty arrays', async () => {
      const res = await t.db.query<{ i: number[]; b: boolean[]; e: number }>(
        'select $1::int[] as i, $2::bool[] as b, cardinality($3::text[]) as e',
        [int4Array([0, -1, 2147483647, -2147483648]), boolArray([true, false, null]), textArray([])],
      );
      assert.deepEqual(res.rows[0]?.i, [0, -1, 2147483647, -2147483648]);
      assert.deepEqual(res.rows[0]?.b, [true, false, null]);
      assert.equal(Number(res.rows[0]?.e), 0);
    });

    it('a prepared statement runs again with other values, and a wrong element type is refused', async () => {
      const q = 'select array_length($1::text[], 1) as n';
      for (const values of [['a'], ['a', 'b', 'c']]) {
        const res = await t.db.query<{ n: number }>(q, [textArray(values)], { prepare: true });
        assert.equal(Number(res.rows[0]?.n), values.length);
      }
      if (which === 'postgres') {
        // The binary header names int4: PostgreSQL checks it against the text[] the statement expects.
        await assert.rejects(
          () => t.db.query(q, [new SqlArray('int4', [1])]),
          /array element type 23 \(integer\) instead of expected 25 \(text\)/,
        );
      }
    });
  });
}
