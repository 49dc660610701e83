/**
 * The viewer summary's columns (ADR 0052), on PGlite and PostgreSQL: every write stores the status and date
 * `summaryFactsOf` gives; an update changes them and a delete clears them; migration 0028's backfill (for
 * rows written before the columns existed) gives exactly what the write path gives, odd shapes included.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { summaryFactsOf } from '../src/fhir/summary-facts.ts';
import type { FhirResource } from '../src/fhir/types.ts';
import { loadDemoData } from '../src/records/demo/demo-load.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { testDatabases } from './helpers/db.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const BACKFILL = readFileSync(
  new URL('../src/store/migrations/0028_resource_summary_columns.sql', import.meta.url),
  'utf8',
)
  .split('\n')
  .filter((line) => !line.startsWith('alter table') && !line.startsWith('--'))
  .join('\n');

const subject = { reference: 'Patient/cols-1' };
/** Shapes the demo data does not have: empty strings, codings without a code, periods only, partial dates. */
const ODD: Array<FhirResource & { id: string }> = [
  { resourceType: 'Patient', id: 'cols-1', name: [{ family: 'Columns' }] },
  {
    resourceType: 'Condition',
    id: 'cols-cond-1',
    subject,
    clinicalStatus: { coding: [{ system: 'x' }, { code: '' }, { code: 'recurrence' }] },
    onsetPeriod: { start: '2019-06' },
    recordedDate: '2020-01-01',
  },
  { resourceType: 'Condition', id: 'cols-cond-2', subject, recordedDate: '2020' },
  {
    resourceType: 'AllergyIntolerance',
    id: 'cols-allergy-1',
    patient: subject,
    clinicalStatus: { coding: [{ code: 'inactive' }] },
    onsetDateTime: '2001-01-01',
  },
  { resourceType: 'MedicationStatement', id: 'cols-med-1', subject, status: 'active', dateAsserted: '2022-02' },
  {
    resourceType: 'MedicationStatement',
    id: 'cols-med-2',
    subject,
    status: 'intended',
    effectiveDateTime: '',
    effectivePeriod: { start: '2023-01-02T10:00:00Z' },
  },
  { resourceType: 'MedicationRequest', id: 'cols-med-3', subject, status: 'on-hold' },
  { resourceType: 'Encounter', id: 'cols-enc-1', subject, status: 'planned' },
  { resourceType: 'Appointment', id: 'cols-appt-1', status: '', start: '2031-01-01T09:00:00Z' },
  { resourceType: 'Flag', id: 'cols-flag-1', subject, status: 'active', period: { start: '2020-01-01' } },
  { resourceType: 'Observation', id: 'cols-obs-1', subject, status: 'final', effectiveDateTime: '2024-01-01' },
];

for (const kind of testDatabases) {
  describe(`the viewer summary's status and date columns (${kind})`, () => {
    let ta: TestApp;

    before(async () => {
      ta = await openTestApp(kind);
      await loadDemoData(ta.records, { sharedDataDir: '/nonexistent-shared-data', log: () => undefined });
      // Written by the store directly (no validation): the columns must follow whatever is stored.
      await ta.records.db.transaction((tx) =>
        ta.records.store.put(
          tx,
          ODD.map((resource) => ({ resource })),
        ),
      );
    });
    after(async () => {
      await ta.close();
    });

    async function columns(): Promise<Map<string, { status: string | null; date: string | null; json: string }>> {
      const res = await ta.records.db.query<{
        resource_type: string;
        id: string;
        item_status: string | null;
        item_date: string | null;
        content: string;
      }>('select resource_type, id, item_status, item_date, content from resource where not deleted');
      return new Map(
        res.rows.map((r) => [
          `${r.resource_type}/${r.id}`,
          { status: r.item_status, date: r.item_date, json: r.content },
        ]),
      );
    }

    function expectFacts(rows: Awaited<ReturnType<typeof columns>>, label: string): number {
      let withFacts = 0;
      for (const [key, row] of rows) {
        const want = summaryFactsOf(JSON.parse(row.json) as FhirResource);
        assert.deepEqual({ status: row.status, date: row.date }, want, `${label}: ${key}`);
        if (want.status !== null || want.date !== null) withFacts += 1;
      }
      return withFacts;
    }

    test('every write stores the facts summaryFactsOf gives', async () => {
      const rows = await columns();
      const withFacts = expectFacts(rows, 'written');
      assert.ok(withFacts > 20, `${String(withFacts)} rows with a summary status or date`);
      assert.deepEqual(
        { ...rows.get('Condition/cols-cond-1'), json: undefined },
        { status: 'recurrence', date: '2019-06', json: undefined },
      );
    });

    test('an update changes the columns and a delete clears them', async () => {
      const med = await ta.records.read(SYSTEM_ACTOR, 'MedicationStatement', 'cols-med-1');
      const stopped = { ...(JSON.parse(med.json ?? '{}') as Record<string, unknown>), status: 'stopped' };
      await ta.records.db.transaction((tx) =>
        ta.records.store.put(tx, [{ resource: stopped as unknown as FhirResource & { id: string } }]),
      );
      let rows = await columns();
      assert.deepEqual(
        {
          status: rows.get('MedicationStatement/cols-med-1')?.status,
          date: rows.get('MedicationStatement/cols-med-1')?.date,
        },
        { status: 'stopped', date: '2022-02' },
      );
      await ta.records.db.transaction((tx) => ta.records.store.delete(tx, 'Flag', 'cols-flag-1'));
      const gone = await ta.records.db.query<{ item_status: string | null; item_date: string | null }>(
        `select item_status, item_date from resource where resource_type = 'Flag' and id = 'cols-flag-1' and deleted`,
      );
      assert.deepEqual(gone.rows, [{ item_status: null, item_date: null }]);
      rows = await columns();
      expectFacts(rows, 'after the update');
    });

    test("migration 0028's backfill gives what the write path gives", async () => {
      const before = await columns();
      await ta.records.db.exec('update resource set item_status = null, item_date = null');
      const cleared = [...(await columns()).values()].filter((r) => r.status !== null || r.date !== null);
      assert.equal(cleared.length, 0);
      await ta.records.db.exec(BACKFILL);
      const after = await columns();
      const withFacts = expectFacts(after, 'backfilled');
      assert.ok(withFacts > 20, `${String(withFacts)} rows backfilled`);
      assert.deepEqual(after, before);
    });
  });
}
