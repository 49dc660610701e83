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

/** Free-text fields held in their index-key form (indexKey: bounded, compared exactly), per kind. */
const KEYED: { [K in Kind]: ReadonlySet<string> } = {
  token: new Set(['system', 'code']),
  string: new Set(),
  date: new Set(),
  reference: new Set(['targetUrl', 'identifierSystem', 'identifierValue']),
  quantity: new Set(['system', 'code']),
  uri: new Set(['value']),
  number: new Set(),
  composite: new Set(['system', 'code', 'vSystem', 'vCode']),
};

/** Row fields in column order, per kind. */
const FIELDS: { [K in Kind]: ReadonlyArray<keyof IndexRows[K][number]> } = {
  token: ['system', 'code', 'text'],
  string: ['norm', 'exact'],
  date: ['low', 'high'],
  reference: ['targetType', 'targetId', 'targetUrl', 'identifierSystem', 'identifierValue'],
  quantity: ['value', 'low', 'high', 'system', 'code', 'unit'],
  uri: ['value'],
  number: ['value', 'low', 'high'],
  composite: ['system', 'code', 'vSystem', 'vCode', 'vValue', 'vLow', 'vHigh', 'vDateLow', 'vDateHigh', 'vText'],
};

const KINDS = Object.keys(TABLES) as Kind[];

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
  const columns = new Map<Kind, unknown[][]>();
  for (const kind of KINDS)
    columns.set(
      kind,
      Array.from({ length: 2 + FIELDS[kind].length }, () => []),
    );
  items.forEach((it, ord) => {
    const rows = (it.rows as IndexRows | undefined) ?? extractIndexRows(it.resource);
    for (const kind of KINDS) {
      const cols = columns.get(kind) as unknown[][];
      const fields = FIELDS[kind] as readonly string[];
      const keyed = KEYED[kind];
      for (const row of rows[kind] as unknown as Array<Record<string, unknown>>) {
        (cols[0] as unknown[]).push(ord + 1);
        (cols[1] as unknown[]).push(row.param);
        fields.forEach((f, i) => {
          const v = row[f] ?? null;
          (cols[2 + i] as unknown[]).push(typeof v === 'string' && keyed.has(f) ? indexKey(v) : v);
        });
      }
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
