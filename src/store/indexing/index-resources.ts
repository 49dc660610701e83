/**
 * Writes search-index rows in sets: for one call, a single SQL statement deletes the old rows of the
 * resources in the call that may have some (not those marked `isNew`) from all index tables, and inserts
 * the new rows with one multi-row INSERT … SELECT FROM unnest(…) per table. Call it inside the
 * transaction that writes the resources.
 */
import type { FhirResource } from '../../fhir/types.ts';
import type { Db, SqlValue } from '../db.ts';
import { int4Array, textArray } from '../sql-array.ts';
import { extractIndexRows, type IndexRows } from './extract.ts';
import { indexKey } from './values.ts';

export interface IndexItem {
  resourceType: string;
  id: string;
  resource: FhirResource;
  personId: string | null;
  /**
   * True when the resource had no row at all before this transaction (a first version), so it cannot
   * have index rows yet and their delete is left out. Absent or false: old rows are deleted first.
   */
  isNew?: boolean;
  /** The rows `extractIndexRows` returned for this resource, when they were extracted ahead. */
  rows?: unknown;
}

/** Index table of each row kind, with its value columns (after resource_type, resource_id, param, person_id) and their SQL types. */
const TABLES = {
  token: {
    table: 'search_token',
    columns: [
      ['system', 'text'],
      ['code', 'text'],
      ['text_norm', 'text'],
    ],
  },
  string: {
    table: 'search_string',
    columns: [
      ['value_norm', 'text'],
      ['value_exact', 'text'],
    ],
  },
  date: {
    table: 'search_date',
    columns: [
      ['low', 'timestamptz'],
      ['high', 'timestamptz'],
    ],
  },
  reference: {
    table: 'search_reference',
    columns: [
      ['target_type', 'text'],
      ['target_id', 'text'],
      ['target_url', 'text'],
      ['identifier_system', 'text'],
      ['identifier_value', 'text'],
    ],
  },
  quantity: {
    table: 'search_quantity',
    columns: [
      ['value', 'numeric'],
      ['low', 'numeric'],
      ['high', 'numeric'],
      ['system', 'text'],
      ['code', 'text'],
      ['unit', 'text'],
    ],
  },
  uri: { table: 'search_uri', columns: [['value', 'text']] },
  number: {
    table: 'search_number',
    columns: [
      ['value', 'numeric'],
      ['low', 'numeric'],
      ['high', 'numeric'],
    ],
  },
  composite: {
    table: 'search_composite',
    columns: [
      ['system', 'text'],
      ['code', 'text'],
      ['v_system', 'text'],
      ['v_code', 'text'],
      ['v_value', 'numeric'],
      ['v_low', 'numeric'],
      ['v_high', 'numeric'],
      ['v_date_low', 'timestamptz'],
      ['v_date_high', 'timestamptz'],
      ['v_text', 'text'],
    ],
  },
} as const satisfies Record<keyof IndexRows, { table: string; columns: ReadonlyArray<readonly [string, string]> }>;

type Kind = keyof IndexRows;

/** A free-text field held in its index-key form (indexKey: bounded, compared exactly). */
const keyed = (v: string | null | undefined): string | null => (typeof v === 'string' ? indexKey(v) : null);
const or = <T>(v: T | null | undefined): T | null => v ?? null;

/**
 * Puts a row's value columns (after its resource's number and param) into the kind's column arrays, in the
 * order of `TABLES[kind].columns`; `keyed` marks the free-text fields held in their index-key form. One
 * function per kind, written out, so that each reads fixed fields of one row shape (ADR 0057).
 */
/** A kind's column arrays (at most 12: the composite table's); each kind's function uses only its own. */
type Columns = [
  unknown[],
  unknown[],
  unknown[],
  unknown[],
  unknown[],
  unknown[],
  unknown[],
  unknown[],
  unknown[],
  unknown[],
  unknown[],
  unknown[],
];

const PUSH: { [K in Kind]: (row: IndexRows[K][number], c: Columns) => void } = {
  token: (r, c) => {
    c[2].push(keyed(r.system));
    c[3].push(keyed(r.code));
    c[4].push(or(r.text));
  },
  string: (r, c) => {
    c[2].push(or(r.norm));
    c[3].push(or(r.exact));
  },
  date: (r, c) => {
    c[2].push(or(r.low));
    c[3].push(or(r.high));
  },
  reference: (r, c) => {
    c[2].push(or(r.targetType));
    c[3].push(or(r.targetId));
    c[4].push(keyed(r.targetUrl));
    c[5].push(keyed(r.identifierSystem));
    c[6].push(keyed(r.identifierValue));
  },
  quantity: (r, c) => {
    c[2].push(or(r.value));
    c[3].push(or(r.low));
    c[4].push(or(r.high));
    c[5].push(keyed(r.system));
    c[6].push(keyed(r.code));
    c[7].push(or(r.unit));
  },
  uri: (r, c) => {
    c[2].push(keyed(r.value));
  },
  number: (r, c) => {
    c[2].push(or(r.value));
    c[3].push(or(r.low));
    c[4].push(or(r.high));
  },
  composite: (r, c) => {
    c[2].push(keyed(r.system));
    c[3].push(keyed(r.code));
    c[4].push(keyed(r.vSystem));
    c[5].push(keyed(r.vCode));
    c[6].push(or(r.vValue));
    c[7].push(or(r.vLow));
    c[8].push(or(r.vHigh));
    c[9].push(or(r.vDateLow));
    c[10].push(or(r.vDateHigh));
    c[11].push(or(r.vText));
  },
};

const KINDS = Object.keys(TABLES) as Kind[];

/** Appends the rows of one kind to its column arrays: the resource's number, param, then the value columns. */
function pushRows<K extends Kind>(kind: K, rows: ReadonlyArray<IndexRows[K][number]>, ord: number, c: Columns): void {
  const push: (row: IndexRows[K][number], c: Columns) => void = PUSH[kind];
  const [o, p] = c;
  for (const row of rows) {
    o.push(ord);
    p.push(row.param);
    push(row, c);
  }
}

export const INDEX_TABLES: readonly string[] = Object.values(TABLES).map((t) => t.table);

/** `delete … using unnest(types, ids)`: one index probe per resource, whatever the mix of types. */
function deleteCtes(items: ReadonlyArray<{ resourceType: string; id: string }>, values: SqlValue[]): string[] {
  values.push(textArray(items.map((it) => it.resourceType)), textArray(items.map((it) => it.id)));
  const t = `$${values.length - 1}::text[]`;
  const i = `$${values.length}::text[]`;
  return INDEX_TABLES.map(
    (table, n) =>
      `d${n} as (delete from ${table} x using unnest(${t}, ${i}) as k(t, i) where x.resource_type = k.t and x.resource_id = k.i)`,
  );
}

/**
 * Replaces the index rows of `items` (all their parameters) with rows extracted from each resource.
 * One statement for the whole call.
 */
export async function indexResources(tx: Db, items: ReadonlyArray<IndexItem>): Promise<void> {
  if (items.length === 0) return;
  const values: SqlValue[] = [];
  const replaced = items.filter((it) => it.isNew !== true);
  const ctes: string[] = replaced.length > 0 ? deleteCtes(replaced, values) : [];

  // Each resource's type, id and person are sent once (`k`, numbered from 1); each row carries the number.
  values.push(
    textArray(items.map((it) => it.resourceType)),
    textArray(items.map((it) => it.id)),
    textArray(items.map((it) => it.personId)),
  );
  const k = values.length - 2;
  ctes.push(
    `k as (select * from unnest($${k}::text[], $${k + 1}::text[], $${k + 2}::text[]) with ordinality as k(t, i, p, o))`,
  );
  // Column arrays per kind: the resource's number, param, then the value columns.
  const columns = new Map<Kind, Columns>();
  for (const kind of KINDS)
    columns.set(
      kind,
      Array.from({ length: 2 + TABLES[kind].columns.length }, (): unknown[] => []) as unknown as Columns,
    );
  items.forEach((it, ord) => {
    const rows = (it.rows as IndexRows | undefined) ?? extractIndexRows(it.resource);
    for (const kind of KINDS) {
      const c = columns.get(kind);
      if (c) pushRows(kind, rows[kind], ord + 1, c);
    }
  });
  // Every table gets its insert, empty or not, so the statement text is one of two (with or without the
  // deletes) and PostgreSQL parses and plans it once per connection.
  let n = 0;
  for (const [kind, cols] of columns) {
    const spec = TABLES[kind];
    const types = ['int', 'text', ...spec.columns.map((c) => c[1])];
    const names = ['resource_type', 'resource_id', 'param', 'person_id', ...spec.columns.map((c) => c[0])];
    const aliases = ['o', 'param', ...spec.columns.map((c) => c[0])];
    const args = cols.map((c, i) => {
      const type = types[i];
      values.push(type === 'text' ? textArray(c as string[]) : type === 'int' ? int4Array(c as number[]) : c);
      return `$${values.length}::${type}[]`;
    });
    ctes.push(
      `i${n++} as (insert into ${spec.table} (${names.join(', ')}) select k.t, k.i, r.param, k.p, ${spec.columns.map((c) => `r.${c[0]}`).join(', ')} from unnest(${args.join(', ')}) as r(${aliases.join(', ')}) join k on k.o = r.o)`,
    );
  }
  await tx.query(`with ${ctes.join(',\n')} select 1`, values, { prepare: true });
}

/** Removes every index row of the given resources (on delete). */
export async function removeIndexes(tx: Db, resourceType: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const ctes = INDEX_TABLES.map(
    (t, i) => `d${i} as (delete from ${t} where resource_type = $1 and resource_id = any($2::text[]))`,
  );
  await tx.query(`with ${ctes.join(', ')} select 1`, [resourceType, [...ids]]);
}

/** The shape the resource store expects (`Indexer` in resource-store.ts). */
export const searchIndexer = {
  index: indexResources,
  remove: removeIndexes,
  rowsOf: extractIndexRows,
};
