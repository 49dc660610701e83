/**
 * Writes search-index rows in sets: for one call, a single SQL statement deletes the old rows of the
 * resources in the call that may have some (not those marked `isNew`) from all index tables, and inserts
 * the new rows with one multi-row INSERT … SELECT FROM unnest(…) per table. Call it inside the
 * transaction that writes the resources.
 */
import type { FhirResource } from '../../fhir/types.ts';
import type { Db, SqlValue } from '../db.ts';
import { extractIndexRows, type IndexRows } from './extract.ts';

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

export const INDEX_TABLES: readonly string[] = Object.values(TABLES).map((t) => t.table);

/** `delete … using unnest(types, ids)`: one index probe per resource, whatever the mix of types. */
function deleteCtes(items: ReadonlyArray<{ resourceType: string; id: string }>, values: SqlValue[]): string[] {
  values.push(
    items.map((it) => it.resourceType),
    items.map((it) => it.id),
  );
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

  // Column arrays per kind: resource_type, resource_id, param, person_id, then the value columns.
  const columns = new Map<Kind, unknown[][]>();
  for (const kind of Object.keys(TABLES) as Kind[])
    columns.set(
      kind,
      Array.from({ length: 4 + FIELDS[kind].length }, () => []),
    );
  for (const it of items) {
    const rows = extractIndexRows(it.resource);
    for (const kind of Object.keys(TABLES) as Kind[]) {
      const cols = columns.get(kind) as unknown[][];
      const fields = FIELDS[kind] as readonly string[];
      for (const row of rows[kind] as unknown as Array<Record<string, unknown>>) {
        (cols[0] as unknown[]).push(it.resourceType);
        (cols[1] as unknown[]).push(it.id);
        (cols[2] as unknown[]).push(row.param);
        (cols[3] as unknown[]).push(it.personId);
        fields.forEach((f, i) => (cols[4 + i] as unknown[]).push(row[f] ?? null));
      }
    }
  }
  let n = 0;
  for (const [kind, cols] of columns) {
    if ((cols[0] as unknown[]).length === 0) continue;
    const spec = TABLES[kind];
    const types = ['text', 'text', 'text', 'text', ...spec.columns.map((c) => c[1])];
    const names = ['resource_type', 'resource_id', 'param', 'person_id', ...spec.columns.map((c) => c[0])];
    const args = cols.map((c, i) => {
      values.push(c);
      return `$${values.length}::${types[i]}[]`;
    });
    ctes.push(`i${n++} as (insert into ${spec.table} (${names.join(', ')}) select * from unnest(${args.join(', ')}))`);
  }
  if (ctes.length === 0) return;
  await tx.query(`with ${ctes.join(',\n')} select 1`, values);
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
};
