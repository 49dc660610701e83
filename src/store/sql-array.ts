/**
 * Array parameters that the PostgreSQL driver sends in PostgreSQL's binary array format (`array_recv`)
 * instead of as array literals: no quoting and escaping of every element in Node, no parsing of the
 * literal (`array_in`) in the server. The set writes of the store send tens of thousands of elements per
 * statement, where this matters (ADR 0016). PGlite receives the plain values.
 */

/** Element types with a binary encoding here (OIDs from pg_type). */
const OID = { text: 25, int4: 23, bool: 16 } as const;

export type SqlArrayType = keyof typeof OID;

/** A `text[]`, `int4[]` or `bool[]` parameter. Cast it in SQL to the same type (`$1::text[]`). */
export class SqlArray {
  readonly type: SqlArrayType;
  readonly values: ReadonlyArray<string | number | boolean | null>;
  constructor(type: SqlArrayType, values: ReadonlyArray<string | number | boolean | null>) {
    this.type = type;
    this.values = values;
  }
}

export const textArray = (values: ReadonlyArray<string | null | undefined>): SqlArray =>
  new SqlArray(
    'text',
    values.map((v) => v ?? null),
  );
export const int4Array = (values: ReadonlyArray<number | null>): SqlArray => new SqlArray('int4', values);
export const boolArray = (values: ReadonlyArray<boolean | null>): SqlArray => new SqlArray('bool', values);

/**
 * The binary form (PostgreSQL `array_send`): ndim, has-nulls flag, element type, then per dimension its
 * size and lower bound (1), then each element as a 4-byte length (-1 for null) and its bytes.
 *
 * One pass over the elements (ADR 0057): the buffer is sized for the worst case (3 UTF-8 bytes per UTF-16
 * code unit; a surrogate pair is 2 units and 4 bytes), each text is written where it goes and its length
 * put in front of it afterwards, and the unused tail is cut off.
 */
export function encodeSqlArray(a: SqlArray): Buffer {
  const { values } = a;
  const n = values.length;
  let bound = n === 0 ? 12 : 20;
  if (a.type === 'text') {
    for (let i = 0; i < n; i++) {
      const v = values[i];
      bound += v === null || v === undefined ? 4 : 4 + 3 * (typeof v === 'string' ? v.length : String(v).length);
    }
  } else bound += n * (a.type === 'int4' ? 8 : 5);
  const buf = Buffer.allocUnsafe(bound);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let hasNull = 0;
  view.setInt32(0, n === 0 ? 0 : 1);
  view.setInt32(8, OID[a.type]);
  let at = 12;
  if (n > 0) {
    view.setInt32(12, n);
    view.setInt32(16, 1);
    at = 20;
  }
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      view.setInt32(at, -1);
      at += 4;
      hasNull = 1;
    } else if (a.type === 'text') {
      const len = buf.write(typeof v === 'string' ? v : String(v), at + 4);
      view.setInt32(at, len);
      at += 4 + len;
    } else if (a.type === 'int4') {
      const x = Number(v);
      if (!Number.isInteger(x) || x < -2147483648 || x > 2147483647) {
        throw new RangeError(`int4 array element out of range: ${String(v)}`);
      }
      view.setInt32(at, 4);
      view.setInt32(at + 4, x);
      at += 8;
    } else {
      view.setInt32(at, 1);
      buf[at + 4] = v ? 1 : 0;
      at += 5;
    }
  }
  view.setInt32(4, hasNull);
  return at === bound ? buf : buf.subarray(0, at);
}
