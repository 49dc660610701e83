/**
 * The viewer's summary from the narrow read (ADR 0045), on PGlite and PostgreSQL: the same summary as the
 * one built from the whole record (`$everything`) for every demo person and user; bounded for a 1,000-item
 * person, with "and M more" counts; one audit entry per summary naming the categories read; a section the
 * role may not see is not read at all; the endpoint's errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { findDemoUser } from '../src/auth/demo-users.ts';
import type { AuditLog, AuditRecord } from '../src/audit/audit-record.ts';
import { CONFIDENTIALITY_SYSTEM } from '../src/fhir/access-facts.ts';
import type { FhirResource } from '../src/fhir/types.ts';
import { loadDemoData } from '../src/records/demo/demo-load.ts';
import { GP_FEED } from '../src/records/demo/viewer-journeys.ts';
import { importBatches } from '../src/records/import/import.ts';
import { importTargetFor } from '../src/records/import/target.ts';
import {
  type PatientSummary,
  SUMMARY_LIMITS,
  summaryOfView,
  ViewerRecords,
} from '../src/records/viewer/viewer-records.ts';
import { SYSTEM_ACTOR, type UserActor } from '../src/shared/actor.ts';
import type { Db, SqlValue } from '../src/store/db.ts';
import { readPersonSummary } from '../src/store/person-summary.ts';
import { testDatabases } from './helpers/db.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const NOW = new Date();
const USERS = ['gp-a81001', 'ed-doctor-rns', 'ward-nurse', 'social-worker', 'admin-clerk', 'privacy-officer'];

function actorOf(userId: string): UserActor {
  const u = findDemoUser(userId);
  if (!u) throw new Error(`no demo user ${userId}`);
  return { kind: 'user', userId: u.id, orgOds: u.org, role: u.role, displayName: u.name };
}

/**
 * A person registered with the demo GP, with `n` items from the GP: results, 50 active medicines of 100,
 * problems, 200 encounters.
 */
function bigPerson(n: number): FhirResource[] {
  const pid = 'summary-big-1';
  const subject = { reference: `Patient/${pid}` };
  const out: FhirResource[] = [
    {
      resourceType: 'Patient',
      id: pid,
      identifier: [{ system: NHS, value: '9990001030' }],
      name: [{ family: 'Benchmark', given: ['Thousand'] }],
      birthDate: '1940-01-01',
    },
    {
      resourceType: 'EpisodeOfCare',
      id: `${pid}-reg`,
      status: 'active',
      patient: subject,
      managingOrganization: { reference: 'Organization/demo-org-a81001' },
      period: { start: '2000-01-01' },
    },
  ];
  for (let i = 0; out.length < n + 2; i++) {
    const day = new Date(Date.UTC(2016, 0, 1) + i * 3 * 86_400_000).toISOString();
    const k = i % 10;
    if (k < 6) {
      out.push({
        resourceType: 'Observation',
        id: `${pid}-obs-${String(i)}`,
        status: 'final',
        code: { text: `Test ${String(i % 12)}` },
        subject,
        effectiveDateTime: day,
        valueQuantity: { value: 40 + (i % 30), unit: 'mmol/L' },
      });
    } else if (k === 6) {
      out.push({
        resourceType: 'MedicationStatement',
        id: `${pid}-med-${String(i)}`,
        status: i % 20 === 6 ? 'active' : 'completed',
        medicationCodeableConcept: { text: `Medicine ${String(i)} 5mg tablets` },
        subject,
        effectiveDateTime: day.slice(0, 10),
      });
    } else if (k === 7) {
      out.push({
        resourceType: 'Condition',
        id: `${pid}-cond-${String(i)}`,
        clinicalStatus: {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
              code: i % 30 === 7 ? 'active' : 'resolved',
            },
          ],
        },
        code: { text: `Problem ${String(i)}` },
        subject,
        onsetDateTime: day.slice(0, 10),
      });
    } else {
      out.push({
        resourceType: 'Encounter',
        id: `${pid}-enc-${String(i)}`,
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject,
        period: { start: day, end: day },
      });
    }
  }
  return out;
}

interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

for (const kind of testDatabases) {
  describe(`the viewer's summary from the narrow read (${kind})`, () => {
    let ta: TestApp;
    let viewer: ViewerRecords;
    const audited: AuditRecord[] = [];
    const audit: AuditLog = {
      async record(_db, rec) {
        audited.push(rec);
      },
    };
    let patients: Array<{ id: string; nhs: string }> = [];
    let bigId = '';

    before(async () => {
      ta = await openTestApp(kind, {}, { audit });
      await loadDemoData(ta.records, { sharedDataDir: '/nonexistent-shared-data', log: () => undefined });
      const big = bigPerson(1000);
      await importBatches(
        importTargetFor(ta.records),
        [
          {
            file: 'summary-test',
            sourceKey: 'summary-test',
            unit: 'entry',
            entries: big.map((resource, position) => ({ position, resource })),
            lastOfFile: true,
          },
        ],
        { feedId: GP_FEED, sourceOrg: 'A81001' },
      );
      const json = await ta.records.search(SYSTEM_ACTOR, 'Patient', new URLSearchParams({ _count: '200' }), {
        baseUrl: 'urn:test',
      });
      const entries = (
        JSON.parse(json) as {
          entry?: Array<{ resource: { id: string; identifier?: Array<{ system?: string; value?: string }> } }>;
        }
      ).entry;
      patients = (entries ?? []).map((e) => ({
        id: e.resource.id,
        nhs: e.resource.identifier?.find((i) => i.system === NHS)?.value ?? '',
      }));
      bigId = patients.find((p) => p.nhs === '9990001030')?.id ?? '';
      assert.ok(bigId, 'the 1,000-item person is loaded');
      viewer = new ViewerRecords({ records: ta.records, now: () => NOW });
    });
    after(async () => {
      await ta.close();
    });

    test('gives the same summary as the one built from the whole record, for every demo person and user', async () => {
      let compared = 0;
      let withItems = 0;
      for (const userId of USERS) {
        const actor = actorOf(userId);
        for (const p of patients) {
          const narrow = await viewer.summary(actor, p.id).catch((err: unknown) => err);
          const whole: PatientSummary | Error = await viewer
            .view(actor, p.id, { practitioners: false })
            .then((v) => summaryOfView(v, NOW))
            .catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
          if (whole instanceof Error) {
            assert.ok(narrow instanceof Error, `${userId} ${p.id}: refused by $everything, not by the summary`);
            assert.equal((narrow as { code?: string }).code, (whole as { code?: string }).code);
            continue;
          }
          assert.deepEqual(narrow, whole, `${userId} on ${p.id} (${p.nhs})`);
          compared += 1;
          if (whole.medicines.length + whole.problems.length + whole.encounters.length > 0) withItems += 1;
        }
      }
      assert.ok(compared > 20, `compared ${String(compared)} summaries`);
      assert.ok(withItems > 5, `${String(withItems)} summaries with clinical items`);
    });

    test('is bounded for a 1,000-item person: the most recent items, sorted in SQL, and how many more', async () => {
      const gp = actorOf('gp-a81001');
      const s = await viewer.summary(gp, bigId);
      assert.equal(s.medicines.length, SUMMARY_LIMITS.medicines);
      assert.equal(s.more.medicines, 50 - SUMMARY_LIMITS.medicines); // 50 active of 100
      assert.equal(s.encounters.length, SUMMARY_LIMITS.encounters);
      assert.equal(s.more.encounters, 200 - SUMMARY_LIMITS.encounters);
      assert.equal(s.problems.length, 34); // active: i % 30 === 7 among i % 10 === 7
      assert.equal(s.more.problems, 0);
      const dates = s.encounters.map((e) => e.date ?? '');
      assert.deepEqual(dates, [...dates].sort().reverse(), 'newest first');
      const whole = summaryOfView(await viewer.view(gp, bigId, { practitioners: false }), NOW);
      assert.deepEqual(s, whole);
      // The sources still count every visible item, though only a few were read.
      assert.equal(
        s.sources.reduce((n, x) => n + x.items, 0),
        1002,
      );
      const read = await ta.records.summary(gp, bigId, SUMMARY_LIMITS, NOW);
      // The Patient, the registration, 25 medicines, 34 problems, 5 encounters: not 1,002 rows.
      assert.equal(read.rows.length, 2 + SUMMARY_LIMITS.medicines + 34 + SUMMARY_LIMITS.encounters, 'rows read');
      assert.equal(read.totals.encounters, 200);
    });

    test("its cost does not grow with the record: the statement reads about the cards' rows, not the person's", async () => {
      // The plan of the summary statement for the 1,000-item person, run: the rows it reads from `resource` (kept
      // and filtered out, every loop) are about the cards' limits, and the counts come from a few counter rows.
      const db = ta.records.db;
      let captured: { sql: string; values: SqlValue[] } | undefined;
      const query = ((sql: string, values?: SqlValue[]) => {
        captured = { sql, values: values ?? [] };
        return db.query(sql, values);
      }) as Db['query'];
      const spy: Db = { ...db, query };
      const scope = {
        sharedCategories: ['demographics'],
        personCategories: [
          'demographics',
          'care-network',
          'encounters',
          'appointments',
          'alerts',
          'allergies',
          'medications',
          'problems',
          'results',
        ],
        hiddenFeeds: ['feed-in-testing'],
      };
      const read = await readPersonSummary(spy, bigId, scope, SUMMARY_LIMITS, NOW);
      assert.equal(read.totals.encounters, 200);
      assert.equal(
        read.sources.reduce((n, x) => n + x.items, 0),
        1002,
      );
      assert.ok(captured);
      // The scope's values are bound once, however many row sets it filters (ADR 0060): the person, the hidden
      // feeds, the person's and the shared categories, the time; a scope of the same shape, other values,
      // runs the same statement text.
      assert.equal(captured.values.length, 5, JSON.stringify(captured.values));
      const { sql: text, values } = captured;
      await readPersonSummary(spy, bigId, { ...scope, personCategories: ['demographics'] }, SUMMARY_LIMITS, NOW);
      assert.equal(captured.sql, text);
      assert.notDeepEqual(captured.values, values);
      const res = await db.query(`explain (analyze, format json) ${text}`, values);
      const plan = Object.values(res.rows[0] ?? {})[0];
      const tree = (typeof plan === 'string' ? JSON.parse(plan) : plan) as Array<{ Plan: PlanNode }>;
      const read0 = { resource: 0, counts: 0 };
      const walk = (node: PlanNode) => {
        const rows = ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0)) * (node['Actual Loops'] ?? 1);
        if (node['Relation Name'] === 'resource') read0.resource += rows;
        if (node['Relation Name'] === 'person_item_count') read0.counts += rows;
        for (const child of node.Plans ?? []) walk(child);
      };
      walk(tree[0]?.Plan ?? {});
      // Medicines: 25 of 50 active among 100 (about 50 read), problems: 34 active of 100 (all 100 read: the card
      // shows up to 50), encounters 5, the Patient and the registration; never the 600 results or all 1,002 rows.
      assert.ok(read0.resource < 250, `rows read from resource: ${String(read0.resource)}`);
      assert.ok(read0.counts < 30, `counter rows read: ${String(read0.counts)}`);
    });

    test('is one audit entry naming the categories read; a section the role may not see is not read', async () => {
      const gp = actorOf('gp-a81001');
      audited.length = 0;
      await viewer.summary(gp, bigId);
      assert.equal(audited.length, 1, JSON.stringify(audited.map((a) => a.action)));
      const [entry] = audited;
      assert.equal(entry?.action, 'summary');
      assert.equal(entry.outcome, 'allowed');
      assert.equal(entry.what, `Patient/${bigId}/$summary`);
      assert.equal(entry.basis, 'relationship');
      assert.ok(entry.categories?.includes('medications'));
      assert.ok(!entry.categories?.includes('results'), 'results are not part of the summary');

      // An admin and clerical user sees demographics, the care network and appointments: nothing else is read.
      const clerk = actorOf('admin-clerk');
      audited.length = 0;
      const read = await ta.records.summary(clerk, bigId, SUMMARY_LIMITS, NOW);
      assert.deepEqual(Object.keys(read.totals).sort(), ['appointments', 'careNetwork', 'patients']);
      // The GP registration (an EpisodeOfCare) is care network: the clerk sees who looks after the person,
      // and no encounter, medicine or problem.
      assert.deepEqual([...new Set(read.rows.map((r) => r.resourceType))].sort(), ['EpisodeOfCare', 'Patient']);
      assert.equal(audited.length, 1);
      assert.deepEqual([...(audited[0]?.categories ?? [])].sort(), ['appointments', 'care-network', 'demographics']);
    });

    test('the whole record comes with the grounds of the decision it was read under: one decision, one entry', async () => {
      for (const userId of ['gp-a81001', 'admin-clerk']) {
        const actor = actorOf(userId);
        audited.length = 0;
        const record = await ta.records.personRecord(actor, bigId, 'http://x/fhir');
        assert.equal(audited.length, 1, JSON.stringify(audited.map((a) => a.action)));
        const [entry] = audited;
        assert.equal(entry?.action, 'everything');
        assert.equal(entry.basis, record.decision.basis);
        assert.deepEqual([...(entry.categories ?? [])].sort(), [...record.decision.categories].sort());
        assert.equal(record.json, await ta.records.everything(actor, bigId, 'http://x/fhir'));
        // The page shows those grounds, not a second decision's.
        const view = await viewer.view(actor, bigId, { practitioners: false });
        assert.equal(view.access.basis, record.decision.basis);
        assert.deepEqual([...view.access.categories].sort(), [...record.decision.categories].sort());
      }
      // An admin and clerical user's grounds differ from the GP's: the decision is per user, not shared.
      const [gp, clerk] = await Promise.all(
        ['gp-a81001', 'admin-clerk'].map((u) => ta.records.personRecord(actorOf(u), bigId, 'http://x/fhir')),
      );
      assert.notDeepEqual(gp?.decision.categories, clerk?.decision.categories);
    });

    test("a restricted person's summary withholds address, telecom and GP, as $everything does", async () => {
      const id = 'summary-restricted-1';
      await ta.records.update(SYSTEM_ACTOR, {
        resourceType: 'Patient',
        id,
        meta: { security: [{ system: CONFIDENTIALITY_SYSTEM, code: 'R' }] },
        identifier: [{ system: NHS, value: '9990001049' }],
        name: [{ family: 'Withheld', given: ['Rita'] }],
        birthDate: '1960-02-02',
        address: [{ line: ['1 Secret Lane'], postalCode: 'EX1 1XX' }],
        telecom: [{ system: 'phone', value: '07700 900000' }],
        generalPractitioner: [{ reference: 'Organization/demo-org-a81001' }],
      });
      const gp = actorOf('gp-a81001');
      const read = await ta.records.summary(gp, id, SUMMARY_LIMITS, NOW);
      assert.equal(read.decision.restricted, true);
      const patient = read.resources.find((r) => r.resourceType === 'Patient' && r.id === id) as
        Record<string, unknown> | undefined;
      assert.ok(patient, 'the Patient is read for the banner');
      assert.equal(patient.address, undefined);
      assert.equal(patient.telecom, undefined);
      assert.equal(patient.generalPractitioner, undefined);
      assert.deepEqual(patient.name, [{ family: 'Withheld', given: ['Rita'] }]);
      const narrow = await viewer.summary(gp, id);
      assert.equal(narrow.banner.address, null, 'withheld, and shown as withheld');
      assert.equal(narrow.banner.phone, null);
      assert.deepEqual(narrow, summaryOfView(await viewer.view(gp, id, { practitioners: false }), NOW));
    });

    test('a person who cannot be seen is refused as unknown, and audited once as refused', async () => {
      audited.length = 0;
      await assert.rejects(viewer.summary(actorOf('gp-a81001'), 'no-such-patient'), { code: 'ICR_NOT_FOUND' });
      assert.equal(audited.length, 1);
      assert.equal(audited[0]?.outcome, 'refused');
      assert.equal(audited[0]?.errorCode, 'ICR_NOT_FOUND');
      await assert.rejects(viewer.summary(actorOf('gp-a81001'), 'bad id!'), { code: 'ICR_BAD_REQUEST' });
    });

    test('GET /api/patients/:id/summary answers the summary with its counts, and errors as OperationOutcome', async () => {
      const authorization = await ta.auth('gp-a81001');
      const ok = await ta.app.inject({ url: `/api/patients/${bigId}/summary`, headers: { authorization } });
      assert.equal(ok.statusCode, 200);
      const body = ok.json<{ medicines: unknown[]; more: Record<string, number> }>();
      assert.equal(body.medicines.length, SUMMARY_LIMITS.medicines);
      assert.equal(body.more.encounters, 200 - SUMMARY_LIMITS.encounters);
      const missing = await ta.app.inject({ url: '/api/patients/nobody-here/summary', headers: { authorization } });
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json<{ resourceType: string }>().resourceType, 'OperationOutcome');
    });
  });
}
