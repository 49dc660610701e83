/**
 * HL7 v2 messages from the inbox to the record: the queue job maps them to FHIR and writes them through the
 * records service with the feed's provenance (MPI linking included); the same message twice gives the same
 * data; a discharge updates its admission's Encounter; failures are kept with the reason and replayable;
 * unmapped types are kept and counted, never dropped. PGlite, and PostgreSQL when configured.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hl7v2JobHandler } from '../src/ingest/jobs/hl7v2-job.ts';
import { Hl7Intake } from '../src/ingest/mllp/intake.ts';
import { Worker } from '../src/queue/worker.ts';
import { FeedService } from '../src/records/feeds/feed-service.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { HL7_QUEUE } from '../src/store/feed-store.ts';
import { testDatabases } from './helpers/db.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const DATA = path.resolve(import.meta.dirname, '../../shared/data/hl7v2');

const adt = (event: string, control: string, opts: { pid3?: string; extra?: string[] } = {}) =>
  [
    `MSH|^~\\&|PAS|RX1|ICR|ICR|20260101120000||ADT^${event}|${control}|P|2.4`,
    `EVN|${event}|20260101120000`,
    `PID|1||${opts.pid3 ?? 'H123^^^RX1^MR~9990000018^^^NHS^NH'}||SMITH^ANNA^^^MRS||19800101|F|||1 High St^^Exeter^^EX1 1AA||01392000000`,
    'PD1|||Riverside Surgery^^A81001',
    `PV1|1|I|WARD1^BED1^^RX1||||||||||||||||V555^^^RX1|||||||||||||||||||||||||20260101100000|${event === 'A03' ? '20260103150000' : ''}`,
    ...(opts.extra ?? []),
  ].join('\r');

for (const which of testDatabases) {
  describe(`HL7 v2 processing (${which})`, () => {
    let t: TestApp;
    let feeds: FeedService;
    let intake: Hl7Intake;
    let worker: Worker;
    const send = async (text: string) => {
      const r = await intake.handle({ bytes: Buffer.from(text), remoteAddress: 'test', connectionId: 'c1' });
      assert.equal(r.code, 'AA', r.ack);
      return r.messageId ?? 0;
    };
    const row = async (type: string, id: string) =>
      (
        await t.t.db.query<{
          content: string;
          version_id: number;
          feed_id: string;
          source_org: string;
          source_id: string;
        }>(
          'select content, version_id, feed_id, source_org, source_id from resource where resource_type = $1 and id = $2',
          [type, id],
        )
      ).rows[0];
    const inbox = async (id: number) =>
      (
        await t.t.db.query<{ status: string; error: string | null }>(
          'select status, error from feed_message where id = $1',
          [id],
        )
      ).rows[0];
    const ofType = async (type: string) =>
      (
        await t.t.db.query<{ id: string; content: string }>(
          `select id, content from resource where resource_type = $1 and feed_id = 'rx1-pas' order by id`,
          [type],
        )
      ).rows.map((r) => JSON.parse(r.content) as Record<string, unknown> & { id: string });

    before(async () => {
      t = await openTestApp(which);
      feeds = new FeedService({ db: t.t.db });
      await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'RX1', name: 'Exeter Acute', kind: 'acute' });
      await feeds.addFeed(SYSTEM_ACTOR, { id: 'rx1-pas', org: 'RX1', protocol: 'mllp', sendingFacility: 'RX1' });
      await feeds.addFeed(SYSTEM_ACTOR, { id: 'tdl-lab', org: 'RX1', protocol: 'mllp', sendingFacility: 'TDL' });
      intake = new Hl7Intake(feeds);
      worker = new Worker(t.t.db, {
        queue: HL7_QUEUE,
        handler: hl7v2JobHandler({ records: t.records, feeds }),
        backoffSeconds: () => 0,
      });
    });
    after(async () => {
      await worker.close();
      await t.close();
    });

    it('an A01 becomes a Patient (NHS number, GP practice) and an Encounter, with the feed provenance', async () => {
      const id = await send(adt('A01', 'P-1'));
      assert.equal(await worker.drain(), 1);
      assert.equal((await inbox(id))?.status, 'processed');
      const [patient] = await ofType('Patient');
      assert.ok(patient);
      assert.match(JSON.stringify(patient.identifier), /nhs-number","value":"9990000018"/);
      assert.match(JSON.stringify(patient.generalPractitioner), /A81001/);
      const stored = await row('Patient', patient.id);
      assert.equal(stored?.feed_id, 'rx1-pas');
      assert.equal(stored?.source_org, 'RX1');
      assert.equal(stored?.source_id, 'P-1');
      const [enc] = await ofType('Encounter');
      assert.equal(enc?.status, 'in-progress');
      // The MPI linked the Patient as it was written.
      const person = await t.t.db.query<{ person_id: string | null }>(
        'select person_id from resource where resource_type = $1 and id = $2',
        ['Patient', patient.id],
      );
      assert.ok(person.rows[0]?.person_id);
    });

    it('the same message again (new control id) changes nothing; an A03 finishes the same Encounter', async () => {
      await send(adt('A01', 'P-2'));
      await worker.drain();
      const [patient] = await ofType('Patient');
      assert.equal((await row('Patient', String(patient?.id)))?.version_id, 1, 'unchanged: no new version');
      await send(adt('A03', 'P-3'));
      await worker.drain();
      const encounters = await ofType('Encounter');
      assert.equal(encounters.length, 1);
      assert.equal(encounters[0]?.status, 'finished');
      assert.match(JSON.stringify(encounters[0]?.period), /"end":"2026-01-03T15:00:00\+00:00"/);
    });

    it('a repeat of a received message (same control id) is not applied twice', async () => {
      const first = await send(adt('A08', 'P-4'));
      const again = await intake.handle({
        bytes: Buffer.from(adt('A08', 'P-4')),
        remoteAddress: 'test',
        connectionId: 'c2',
      });
      assert.equal(again.code, 'AA');
      assert.equal(again.duplicate, true);
      assert.equal(again.messageId, first);
      assert.equal(await worker.drain(), 1);
    });

    it('a message that cannot be mapped fails with the reason, is kept, and can be replayed', async () => {
      const bad = await send(adt('A01', 'P-5', { pid3: '' }));
      await worker.drain();
      const failed = await inbox(bad);
      assert.equal(failed?.status, 'failed');
      assert.match(failed?.error ?? '', /mapping ADT\^A01: PID \(segment 3\) has no usable identifier in PID-3/);
      const list = await feeds.failed(SYSTEM_ACTOR, 'rx1-pas');
      assert.deepEqual(
        list.map((m) => m.id),
        [bad],
      );
      const replayed = await feeds.replay(SYSTEM_ACTOR, 'rx1-pas', { allFailed: true });
      assert.deepEqual(replayed, [bad]);
      assert.equal((await inbox(bad))?.status, 'received');
      await worker.drain();
      assert.equal((await inbox(bad))?.status, 'failed', 'still failing until the cause is fixed: kept, not dropped');
      await assert.rejects(feeds.replay(SYSTEM_ACTOR, 'rx1-pas', { messageId: 999999 }), /is not a message of feed/);
    });

    it('a message type with no mapping yet is kept and counted as ignored', async () => {
      const orm = await send('MSH|^~\\&|PAS|RX1|ICR|ICR|20260101||ORM^O01|P-6|P|2.4\rPID|1||H123^^^RX1^MR\rORC|NW|1');
      await worker.drain();
      assert.deepEqual(await inbox(orm), { status: 'processed', error: 'ORM^O01 has no mapping yet' });
      const counters = (await feeds.list()).find((f) => f.id === 'rx1-pas')?.counters;
      assert.equal(counters?.ignored, 1);
      assert.equal(counters?.failed, 1);
      assert.equal(counters?.backlog, 0);
      assert.ok((counters?.processed ?? 0) >= 4);
      assert.ok(counters?.lastReceivedAt);
    });

    it(
      'WinPath results become DiagnosticReports and Observations with units and ranges, searchable',
      { skip: !existsSync(DATA) },
      async () => {
        const text = readFileSync(path.join(DATA, 'ORU_R01__uclh-emap__winpath-bone-iron.hl7'), 'utf8');
        const id = await intake.handle({ bytes: Buffer.from(text), remoteAddress: 'test', connectionId: 'c3' });
        assert.equal(id.code, 'AA');
        await worker.drain();
        assert.equal((await inbox(id.messageId ?? 0))?.status, 'processed');
        const json = await t.records.search(SYSTEM_ACTOR, 'Observation', new URLSearchParams({ _count: '100' }), {
          baseUrl: 'http://x',
        });
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- reads the searchset JSON freely
        const bundle = JSON.parse(json) as { entry?: Array<{ resource: Record<string, any> }> };
        const obs = (bundle.entry ?? []).map((e) => e.resource);
        assert.ok(obs.length >= 5);
        assert.ok(obs.some((o) => o.valueQuantity?.unit && o.referenceRange));
        const reports = await t.t.db.query<{ n: number }>(
          `select count(*)::int as n from resource where resource_type = 'DiagnosticReport' and feed_id = 'tdl-lab'`,
        );
        assert.ok(Number(reports.rows[0]?.n) >= 1);
      },
    );
  });
}
