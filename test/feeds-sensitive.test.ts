/**
 * Sensitive information never enters the store: a code from each of the four shared lists
 * (../shared/data/sensitive-codes, loaded as ICR_SENSITIVE_CODES) on each channel — HL7 v2 over the
 * inbox and queue, a file import, the FHIR API — never reaches the resource table, the search index or the
 * logs; the feed counts show what was dropped.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hl7v2JobHandler } from '../src/ingest/jobs/hl7v2-job.ts';
import { Hl7Intake } from '../src/ingest/mllp/intake.ts';
import { loadSensitiveCodes } from '../src/ingest/sensitive/load-code-lists.ts';
import { Worker } from '../src/queue/worker.ts';
import { FeedService } from '../src/records/feeds/feed-service.ts';
import { importBatches } from '../src/records/import/import.ts';
import { importTargetFor } from '../src/records/import/target.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { HL7_QUEUE } from '../src/store/feed-store.ts';
import { testDatabases } from './helpers/db.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const LISTS = path.resolve(import.meta.dirname, '../../shared/data/sensitive-codes');
const MISSING = `shared sensitive code lists not found at ${LISTS}; skipping`;
/** One SNOMED CT code from each list (assisted fertilisation, gender, STI, termination of pregnancy). */
const CODES = ['46249006', '539981000000107', '197967000', '86891002'];
const SCT = 'http://snomed.info/sct';
const HARMLESS = '38341003'; // hypertensive disorder: not on any list

describe('sensitive code lists', { skip: existsSync(LISTS) ? false : MISSING }, () => {
  it('loads the four ValueSets and knows each chosen code', () => {
    const codes = loadSensitiveCodes(LISTS);
    assert.equal(codes.sources.length, 4);
    assert.ok(codes.size > 2700);
    for (const c of CODES) assert.ok(codes.has(SCT, c), c);
    assert.equal(codes.has(SCT, HARMLESS), false);
    assert.equal(
      codes.carries({ resourceType: 'Condition', code: { coding: [{ system: SCT, code: CODES[0] }] } }),
      true,
    );
    assert.equal(codes.carries({ a: [{ b: { system: SCT, code: HARMLESS } }] }), false);
  });
});

for (const which of testDatabases) {
  describe(`sensitive codes never reach the store (${which})`, { skip: existsSync(LISTS) ? false : MISSING }, () => {
    let t: TestApp;
    let feeds: FeedService;
    const logs: string[] = [];
    const log = {
      info: (o: object, m: string) => void logs.push(JSON.stringify(o) + m),
      warn: (o: object, m: string) => void logs.push(JSON.stringify(o) + m),
    };

    before(async () => {
      t = await openTestApp(which, { ICR_SENSITIVE_CODES: LISTS });
      feeds = new FeedService({ db: t.t.db });
      await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'RX1', name: 'Exeter Acute', kind: 'acute' });
      await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'A81001', name: 'Riverside GP', kind: 'gp' });
      await feeds.addFeed(SYSTEM_ACTOR, { id: 'rx1-pas', org: 'RX1', protocol: 'mllp', sendingFacility: 'RX1' });
      await feeds.addFeed(SYSTEM_ACTOR, { id: 'gp-files', org: 'A81001', protocol: 'file' });
    });
    after(async () => {
      await t.close();
    });

    const nowhere = async () => {
      for (const code of CODES) {
        const content = await t.t.db.query<{ n: number }>(
          `select count(*)::int as n from resource_version where content like '%' || $1 || '%'`,
          [code],
        );
        assert.equal(Number(content.rows[0]?.n), 0, `${code} is in no stored resource version`);
        const index = await t.t.db.query<{ n: number }>('select count(*)::int as n from search_token where code = $1', [
          code,
        ]);
        assert.equal(Number(index.rows[0]?.n), 0, `${code} is in no search index row`);
        assert.ok(!logs.some((l) => l.includes(code)), `${code} is in no log line`);
      }
    };

    it('HL7 v2 over the inbox: the DG1 and OBX items are dropped, the rest is stored, the feed counts them', async () => {
      const intake = new Hl7Intake(feeds, log);
      const worker = new Worker(t.t.db, { queue: HL7_QUEUE, handler: hl7v2JobHandler({ records: t.records, feeds }) });
      const dg1 = CODES.map((c, n) => `DG1|${n + 1}||${c}^Sensitive^SCT`).join('\r');
      const adt = `MSH|^~\\&|PAS|RX1|ICR|ICR|20260101||ADT^A01|S-1|P|2.4\rPID|1||H9^^^RX1^MR||DOE^JO||19700101|F\rPV1|1|I|W1||||||||||||||||V9^^^RX1\r${dg1}\rDG1|9||${HARMLESS}^Hypertension^SCT`;
      const oru = `MSH|^~\\&|PAS|RX1|ICR|ICR|20260101||ORU^R01|S-2|P|2.4\rPID|1||H9^^^RX1^MR\rOBR|1||R9|${CODES[2]}^Screen^SCT\rOBX|1|ST|${CODES[2]}^Screen^SCT||positive||||||F\rOBX|2|NM|${HARMLESS}^BP^SCT||140|mm[Hg]|||||F`;
      for (const text of [adt, oru]) {
        const r = await intake.handle({ bytes: Buffer.from(text), remoteAddress: 'test', connectionId: 'c' });
        assert.equal(r.code, 'AA', 'a feed sending sensitive data is not refused');
      }
      await worker.drain();
      const statuses = await t.t.db.query<{ status: string }>(
        `select status from feed_message where feed_id = 'rx1-pas' order by id`,
      );
      assert.deepEqual(
        statuses.rows.map((r) => r.status),
        ['processed', 'processed'],
      );
      const types = await t.t.db.query<{ resource_type: string; n: number }>(
        `select resource_type, count(*)::int as n from resource where feed_id = 'rx1-pas' group by resource_type order by 1`,
      );
      assert.deepEqual(
        types.rows.map((r) => [r.resource_type, Number(r.n)]),
        [
          ['Condition', 1],
          ['Encounter', 1],
          ['Observation', 1],
          ['Patient', 1],
        ],
        'the report whose own code is sensitive is dropped whole; the harmless items stay',
      );
      const counters = (await feeds.list()).find((f) => f.id === 'rx1-pas')?.counters;
      assert.equal(counters?.excludedSensitive, 6);
      await nowhere();
    });

    it('a file import drops them and says so in its summary; the feed counts them', async () => {
      const condition = (id: string, code: string) => ({
        resourceType: 'Condition',
        id,
        subject: { reference: 'Patient/gp1' },
        code: { coding: [{ system: SCT, code }] },
      });
      const summary = await importBatches(
        importTargetFor(t.records),
        [
          {
            file: 'gp.json',
            sourceKey: 'gp.json',
            unit: 'entry',
            lastOfFile: true,
            entries: [
              { position: 0, resource: { resourceType: 'Patient', id: 'gp1', gender: 'female' } },
              ...CODES.map((c, n) => ({ position: n + 1, resource: condition(`gp-c${n}`, c) })),
              { position: 9, resource: condition('gp-ok', HARMLESS) },
            ],
          },
        ],
        { feedId: 'gp-files', sourceOrg: 'A81001' },
      );
      assert.deepEqual(summary.excludedSensitive, { Condition: 4 });
      assert.equal(summary.totals.created, 2);
      assert.equal((await feeds.list()).find((f) => f.id === 'gp-files')?.counters.excludedSensitive, 4);
      await nowhere();
    });

    it('the FHIR API refuses a single write carrying one (422 ICR_SENSITIVE_EXCLUDED) and stores nothing', async () => {
      for (const code of CODES) {
        const res = await t.app.inject({
          method: 'POST',
          url: '/fhir/Condition',
          headers: { authorization: await t.auth(), 'content-type': 'application/fhir+json' },
          payload: {
            resourceType: 'Condition',
            subject: { reference: 'Patient/gp1' },
            code: { coding: [{ system: SCT, code }] },
          },
        });
        assert.equal(res.statusCode, 422, res.body);
        assert.match(res.body, /ICR_SENSITIVE_EXCLUDED|sensitive code list/);
        assert.ok(!res.body.includes(code), 'the refusal does not echo the code');
      }
      await nowhere();
    });
  });
}
