/**
 * The hot search — a patient's Observations by code — must be answered from the indexes. With a small
 * table the planner rightly prefers a sequential scan, so sequential scans are switched off for the
 * EXPLAIN (as a large table would make them).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestDb, testDatabases, type TestDb } from '../../../test/helpers/db.ts';
import { seed, type SeedResource } from '../../../test/helpers/search-seed.ts';
import { matchQuery } from './execute.ts';
import { parseSearch } from './parse.ts';

function observations(n: number): SeedResource[] {
  return Array.from({ length: n }, (_, i) => ({
    resourceType: 'Observation',
    id: `x${i}`,
    status: 'final',
    subject: { reference: `Patient/pp${i % 50}` },
    code: { coding: [{ system: 'http://loinc.org', code: `c${i % 20}` }] },
    effectiveDateTime: `2024-01-${String((i % 28) + 1).padStart(2, '0')}`,
  }));
}

async function plan(t: TestDb, query: string): Promise<string> {
  const q = matchQuery(parseSearch('Observation', new URLSearchParams(query)));
  return t.db.transaction(async (tx) => {
    await tx.query('set local enable_seqscan = off');
    const res = await tx.query<Record<string, string>>(`explain ${q.text}`, q.values);
    return res.rows.map((r) => Object.values(r)[0]).join('\n');
  });
}

for (const kind of testDatabases) {
  describe(`search query plans (${kind})`, () => {
    let t: TestDb;
    before(async () => {
      t = await openTestDb(kind);
      await seed(t.db, observations(2000));
      await t.db.exec('analyze');
    });
    after(async () => t.close());

    test('patient + code uses the reference and token indexes', async () => {
      const p = await plan(t, 'patient=pp7&code=http://loinc.org|c7');
      assert.match(p, /search_reference_target_idx/);
      assert.match(p, /search_token_(code|resource)_idx/);
      assert.doesNotMatch(p, /Seq Scan/);
    });

    test('date range uses the date index; string prefix uses the pattern index', async () => {
      const d = await plan(t, 'date=lt2024-01-05');
      assert.match(d, /search_date_(range|resource)_idx/);
      assert.doesNotMatch(d, /Seq Scan/);
      const q = matchQuery(parseSearch('Patient', new URLSearchParams('family=smi')));
      const p = await t.db.transaction(async (tx) => {
        await tx.query('set local enable_seqscan = off');
        return (await tx.query<Record<string, string>>(`explain ${q.text}`, q.values)).rows
          .map((r) => Object.values(r)[0])
          .join('\n');
      });
      assert.match(p, /search_string_(value|resource)_idx/);
      assert.doesNotMatch(p, /Seq Scan/);
    });
  });
}
