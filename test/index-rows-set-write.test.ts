/**
 * The search-index rows a set write stores for a Synthea patient Bundle (ADR 0057): exactly the rows the
 * extractor gives each resource, converted column by column as the indexer always did (this file keeps that
 * conversion written out generically, field name by field name, as a reference), no row twice, and found
 * again by the search. Both databases.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openTestDb, testDatabases, type TestDb } from './helpers/db.ts';
import type { FhirResource } from '../src/fhir/types.ts';
import { checkType } from '../src/records/records-service.ts';
import { extractIndexRows, type IndexRows } from '../src/store/indexing/extract.ts';
import { INDEX_TABLES, searchIndexer } from '../src/store/indexing/index-resources.ts';
import { indexKey } from '../src/store/indexing/values.ts';
import { ResourceStore, toInstant } from '../src/store/resource-store.ts';
import { findIds } from '../src/store/search/find-ids.ts';

const SYNTHEA = path.resolve(import.meta.dirname, '../../shared/data/synthea-r4');
const present = existsSync(SYNTHEA);

/** Per kind: its table, the row fields in column order with their column and type, and which are index keys. */
const REFERENCE: Record<
  keyof IndexRows,
  {
    table: string;
    fields: ReadonlyArray<readonly [field: string, column: string, type: 'text' | 'date' | 'num']>;
    keyed: readonly string[];
  }
> = {
  token: {
    table: 'search_token',
    fields: [
      ['system', 'system', 'text'],
      ['code', 'code', 'text'],
      ['text', 'text_norm', 'text'],
    ],
    keyed: ['system', 'code'],
  },
  string: {
    table: 'search_string',
    fields: [
      ['norm', 'value_norm', 'text'],
      ['exact', 'value_exact', 'text'],
    ],
    keyed: [],
  },
  date: {
    table: 'search_date',
    fields: [
      ['low', 'low', 'date'],
      ['high', 'high', 'date'],
    ],
    keyed: [],
  },
  reference: {
    table: 'search_reference',
    fields: [
      ['targetType', 'target_type', 'text'],
      ['targetId', 'target_id', 'text'],
      ['targetUrl', 'target_url', 'text'],
      ['identifierSystem', 'identifier_system', 'text'],
      ['identifierValue', 'identifier_value', 'text'],
    ],
    keyed: ['targetUrl', 'identifierSystem', 'identifierValue'],
  },
  quantity: {
    table: 'search_quantity',
    fields: [
      ['value', 'value', 'num'],
      ['low', 'low', 'num'],
      ['high', 'high', 'num'],
      ['system', 'system', 'text'],
      ['code', 'code', 'text'],
      ['unit', 'unit', 'text'],
    ],
    keyed: ['system', 'code'],
  },
  uri: { table: 'search_uri', fields: [['value', 'value', 'text']], keyed: ['value'] },
  number: {
    table: 'search_number',
    fields: [
      ['value', 'value', 'num'],
      ['low', 'low', 'num'],
      ['high', 'high', 'num'],
    ],
    keyed: [],
  },
  composite: {
    table: 'search_composite',
    fields: [
      ['system', 'system', 'text'],
      ['code', 'code', 'text'],
      ['vSystem', 'v_system', 'text'],
      ['vCode', 'v_code', 'text'],
      ['vValue', 'v_value', 'num'],
      ['vLow', 'v_low', 'num'],
      ['vHigh', 'v_high', 'num'],
      ['vDateLow', 'v_date_low', 'date'],
      ['vDateHigh', 'v_date_high', 'date'],
      ['vText', 'v_text', 'text'],
    ],
    keyed: ['system', 'code', 'vSystem', 'vCode'],
  },
};
const KINDS = Object.keys(REFERENCE) as Array<keyof IndexRows>;

/** A value as both sides can compare it: instants in ISO form, numbers without trailing zeros, null. */
function norm(v: unknown, type: 'text' | 'date' | 'num'): string | null {
  if (v === null || v === undefined) return null;
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  if (type === 'date') return /infinity/.test(s) ? s : new Date(toInstant(s)).toISOString();
  if (type === 'num') return String(Number(s));
  return s;
}

/** The stored rows a resource should have, as text lines (table, type, id, param, person, values). */
function expectedLines(resource: FhirResource & { id: string }, personId: string | null): string[] {
  const rows = extractIndexRows(resource);
  const out: string[] = [];
  for (const kind of KINDS) {
    const spec = REFERENCE[kind];
    for (const row of rows[kind] as unknown as Array<Record<string, unknown>>) {
      const values = spec.fields.map(([f, , type]) => {
        const v = row[f] ?? null;
        return norm(typeof v === 'string' && spec.keyed.includes(f) ? indexKey(v) : v, type);
      });
      out.push(JSON.stringify([spec.table, resource.resourceType, resource.id, row.param, personId, ...values]));
    }
  }
  return out;
}

/** Every stored index row, as text lines in the same form. */
async function storedLines(t: TestDb): Promise<string[]> {
  const out: string[] = [];
  for (const kind of KINDS) {
    const spec = REFERENCE[kind];
    const cols = spec.fields.map(([, c]) => `${c}::text as ${c}`).join(', ');
    const res = await t.db.query<Record<string, string | null>>(
      `select resource_type, resource_id, param, person_id, ${cols} from ${spec.table}`,
    );
    for (const r of res.rows)
      out.push(
        JSON.stringify([
          spec.table,
          r.resource_type,
          r.resource_id,
          r.param,
          r.person_id,
          ...spec.fields.map(([, c, type]) => norm(r[c], type)),
        ]),
      );
  }
  return out;
}

/** The first patient Bundle's resources of the types the record keeps. */
function syntheaResources(): Array<FhirResource & { id: string }> {
  const file = readdirSync(SYNTHEA)
    .filter((f) => f.endsWith('.json') && !/^(hospital|practitioner)Information/.test(f))
    .sort()[0] as string;
  const bundle = JSON.parse(readFileSync(path.join(SYNTHEA, file), 'utf8')) as {
    entry: Array<{ resource: FhirResource & { id: string } }>;
  };
  return bundle.entry
    .map((e) => e.resource)
    .filter((r) => {
      try {
        checkType(r.resourceType);
        return true;
      } catch {
        return false;
      }
    });
}

for (const kind of testDatabases) {
  describe(`search-index rows of a set write (${kind})`, { skip: present ? false : `${SYNTHEA} is absent` }, () => {
    let t: TestDb;
    let resources: Array<FhirResource & { id: string }>;
    before(async () => {
      t = await openTestDb(kind);
      resources = syntheaResources();
      // As a feed's Bundle is written: prepared ahead (index rows extracted outside the transaction), then
      // one set write.
      const store = new ResourceStore({ indexer: searchIndexer });
      const prepared = store.prepare(resources.map((resource) => ({ resource, provenance: { feedId: 'f1' } })));
      await t.db.transaction((tx) => store.put(tx, prepared));
    });
    after(async () => t.close());

    test('are the rows extracted for each resource, converted column by column, none twice', async () => {
      const persons = await t.db.query<{ resource_type: string; id: string; person_id: string | null }>(
        'select resource_type, id, person_id from resource',
      );
      const personOf = new Map(persons.rows.map((r) => [`${r.resource_type}/${r.id}`, r.person_id]));
      const expected = resources.flatMap((r) => expectedLines(r, personOf.get(`${r.resourceType}/${r.id}`) ?? null));
      assert.ok(expected.length > 10 * 40, `a Synthea Bundle gives many rows (${expected.length})`);
      assert.equal(new Set(expected).size, expected.length, 'the extractor gives no row twice');
      const stored = await storedLines(t);
      assert.equal(stored.length, expected.length);
      assert.deepEqual(stored.sort(), expected.sort());
      // Every table is exercised by this Bundle but uri and number (Synthea has no such values).
      const tables = new Set(stored.map((l) => (JSON.parse(l) as string[])[0]));
      for (const table of INDEX_TABLES.filter((x) => x !== 'search_uri' && x !== 'search_number'))
        assert.ok(tables.has(table), table);
    });

    test('are found by the search: each resource by its first token and reference rows', async () => {
      let searched = 0;
      for (const r of resources) {
        const rows = extractIndexRows(r);
        const token = rows.token.find((x) => x.code !== null && x.param !== '_tag');
        if (token) {
          const q = `${token.param}=${encodeURIComponent(`${token.system ?? ''}|${token.code ?? ''}`)}`;
          assert.ok((await findIds(t.db, r.resourceType, q, 10_000)).includes(r.id), `${r.resourceType} ${q}`);
          searched++;
        }
        const ref = rows.reference.find((x) => x.targetId !== null && x.targetType !== null);
        if (ref) {
          const q = `${ref.param}=${encodeURIComponent(`${ref.targetType ?? ''}/${ref.targetId ?? ''}`)}`;
          assert.ok((await findIds(t.db, r.resourceType, q, 10_000)).includes(r.id), `${r.resourceType} ${q}`);
          searched++;
        }
      }
      assert.ok(searched >= resources.length / 2, `searched ${searched} of ${resources.length}`);
    });
  });
}
