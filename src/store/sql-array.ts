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
 */
export function encodeSqlArray(a: SqlArray): Buffer {
  const n = a.values.length;
  let size = n === 0 ? 12 : 20;
  let hasNull = 0;
  const lengths = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = a.values[i];
    let len: number;
    if (v === null || v === undefined) {
      len = -1;
      hasNull = 1;
    } else if (a.type === 'text') len = Buffer.byteLength(String(v), 'utf8');
    else if (a.type === 'int4') len = 4;
    else len = 1;
    lengths[i] = len;
    size += 4 + Math.max(len, 0);
  }
  const buf = Buffer.allocUnsafe(size);
  buf.writeInt32BE(n === 0 ? 0 : 1, 0);
  buf.writeInt32BE(hasNull, 4);
  buf.writeInt32BE(OID[a.type], 8);
  let at = 12;
  if (n > 0) {
    buf.writeInt32BE(n, 12);
    buf.writeInt32BE(1, 16);
    at = 20;
  }
  for (let i = 0; i < n; i++) {
    const len = lengths[i] as number;
    buf.writeInt32BE(len, at);
    at += 4;
    if (len < 0) continue;
    const v = a.values[i];
    if (a.type === 'text') at += buf.write(String(v), at, len, 'utf8');
    else if (a.type === 'int4') {
      const x = Number(v);
      if (!Number.isInteger(x) || x < -2147483648 || x > 2147483647) {
        throw new RangeError(`int4 array element out of range: ${String(v)}`);
      }
      buf.writeInt32BE(x, at);
      at += 4;
    } else {
      buf.writeUInt8(v ? 1 : 0, at);
      at += 1;
    }
  }
  return buf;
}
