/**
 * Queue order by person across feeds (issue 11): messages carrying one NHS number share the queue's
 * ordering key whichever feed sends them, so the worker applies them one after another in arrival order
 * (never in the same round of its set-based batches); without an NHS number a message is ordered by the
 * sender's own identifier. The batch handler writes a round through the set write and marks each message
 * processed. PGlite, and PostgreSQL when configured.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hl7v2BatchHandler, hl7v2JobHandler } from '../src/ingest/jobs/hl7v2-job.ts';
import { Hl7Intake } from '../src/ingest/mllp/intake.ts';
import { Worker } from '../src/queue/worker.ts';
import { FeedService } from '../src/records/feeds/feed-service.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { HL7_QUEUE } from '../src/store/feed-store.ts';
import { testDatabases } from './helpers/db.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const adt = (facility: string, event: string, control: string, pid3: string, street: string) =>
  [
    `MSH|^~\\&|PAS|${facility}|ICR|ICR|20260101120000||ADT^${event}|${control}|P|2.4`,
    `EVN|${event}|20260101120000`,
    `PID|1||${pid3}||SMITH^ANNA||19800101|F|||${street}^^Exeter^^EX1 1AA`,
    'PV1|1|N',
  ].join('\r');

for (const which of testDatabases) {
  describe(`queue order by person across feeds (${which})`, () => {
    let t: TestApp;
    let feeds: FeedService;
    let intake: Hl7Intake;
    const send = async (text: string) => {
      const r = await intake.handle({ bytes: Buffer.from(text), remoteAddress: 'test', connectionId: 'c' });
      assert.equal(r.code, 'AA', r.ack);
      return r.messageId ?? 0;
    };
    const keyOf = async (messageId: number) =>
      (
        await t.t.db.query<{ ordering_key: string | null }>(
          'select j.ordering_key from job j join feed_message m on m.job_id = j.id where m.id = $1',
          [messageId],
        )
      ).rows[0]?.ordering_key;

    before(async () => {
      t = await openTestApp(which);
      feeds = new FeedService({ db: t.t.db });
      await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'RX1', name: 'Exeter Acute', kind: 'acute' });
      await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'RD8', name: 'Community Trust', kind: 'community' });
      await feeds.addFeed(SYSTEM_ACTOR, { id: 'rx1-pas', org: 'RX1', protocol: 'mllp', sendingFacility: 'RX1' });
      await feeds.addFeed(SYSTEM_ACTOR, { id: 'rd8-pas', org: 'RD8', protocol: 'mllp', sendingFacility: 'RD8' });
      intake = new Hl7Intake(feeds);
    });
    after(async () => {
      await t.close();
    });

    it('keys messages by NHS number across feeds, else by the sender’s identifier', async () => {
      const a = await send(adt('RX1', 'A31', 'K-1', 'H1^^^RX1^MR~9990000018^^^NHS^NH', '1 First St'));
      const b = await send(adt('RD8', 'A31', 'K-2', 'C77^^^RD8^MR~9990000018^^^NHS^NH', '2 Second St'));
      const spaced = await send(adt('RD8', 'A31', 'K-3', 'C78^^^RD8^MR~999 000 0018', '3 Third St'));
      const local = await send(adt('RX1', 'A31', 'K-4', 'H2^^^RX1^MR', '4 Fourth St'));
      // A number failing its check digit is not a person across feeds.
      const bad = await send(adt('RX1', 'A31', 'K-5', 'H3^^^RX1^MR~9990000019^^^NHS^NH', '5 Fifth St'));
      assert.equal(await keyOf(a), 'nhs:9990000018');
      assert.equal(await keyOf(b), 'nhs:9990000018');
      assert.equal(await keyOf(spaced), 'nhs:9990000018');
      assert.equal(await keyOf(local), 'rx1-pas|urn:openicr:feed:rx1-pas:RX1|H2');
      assert.equal(await keyOf(bad), 'rx1-pas|urn:openicr:feed:rx1-pas:RX1|H3');
    });

    it('without an NHS number, orders by the identifier that keys the sender’s Patient, whatever order PID-3 lists', async () => {
      // The same person (local id H4) listed after a number failing its check digit, after free text, first,
      // and only in PID-2: every message writes one Patient, so all share one key.
      const ids = [
        await send(adt('RX1', 'A31', 'K-10', '9990000019^^^NHS^NH~H4^^^RX1^MR', '10 Tenth St')),
        await send(adt('RX1', 'A31', 'K-11', 'NOT AN ID^^^RX1~H4^^^RX1^MR', '11 Eleventh St')),
        await send(adt('RX1', 'A31', 'K-12', 'H4^^^RX1^MR', '12 Twelfth St')),
        await send(
          [
            'MSH|^~\\&|PAS|RX1|ICR|ICR|20260101120000||ADT^A31|K-13|P|2.4',
            'EVN|A31|20260101120000',
            'PID|1|H4^^^RX1^MR|||SMITH^ANNA||19800101|F',
          ].join('\r'),
        ),
      ];
      for (const id of ids) assert.equal(await keyOf(id), 'rx1-pas|urn:openicr:feed:rx1-pas:RX1|H4');
      // Only a number failing its check digit: ordered by it, within the feed.
      const only = await send(adt('RX1', 'A31', 'K-14', '9990000019^^^NHS^NH', '14 Fourteenth St'));
      assert.equal(await keyOf(only), 'rx1-pas|https://fhir.nhs.uk/Id/nhs-number|9990000019');
    });

    it('applies one person’s messages from two feeds in order, in separate rounds of the set-based worker', async () => {
      const rounds: number[][] = [];
      const batch = hl7v2BatchHandler({ records: t.records, feeds });
      const worker = new Worker(t.t.db, {
        queue: HL7_QUEUE,
        batchSize: 100,
        // Applied side by side, two people's writes may collide on PostgreSQL (the MPI's locks): that job is
        // retried, at once here, and its person's later messages wait for it.
        backoffSeconds: () => 0,
        handler: hl7v2JobHandler({ records: t.records, feeds }),
        batchHandler: async (jobs) => {
          rounds.push(jobs.map((j) => (JSON.parse(j.payload) as { messageId: number }).messageId));
          return batch(jobs);
        },
      });
      const first = await send(adt('RX1', 'A31', 'K-6', 'H1^^^RX1^MR~9990000026^^^NHS^NH', '6 Sixth St'));
      const second = await send(adt('RD8', 'A31', 'K-7', 'C79^^^RD8^MR~9990000026^^^NHS^NH', '7 Seventh St'));
      const other = await send(adt('RX1', 'A31', 'K-8', 'H9^^^RX1^MR', '8 Eighth St'));
      let ran = 0;
      for (let n = 0; n < 5; n += 1) ran += await worker.drain();
      assert.ok(ran >= 3);
      await worker.close();
      const roundOf = (id: number) => rounds.findIndex((r) => r.includes(id));
      assert.ok(roundOf(first) >= 0 && roundOf(second) > roundOf(first), JSON.stringify(rounds));
      // Different people share a round (one set write).
      assert.equal(roundOf(other), roundOf(first));
      const status = await t.t.db.query<{ id: number; status: string }>(
        'select id, status from feed_message where id = any($1::bigint[])',
        [[first, second, other].map(String)],
      );
      assert.deepEqual(
        status.rows.map((r) => r.status),
        ['processed', 'processed', 'processed'],
      );
      // Each feed's Patient carries its own message's address.
      const patients = await t.t.db.query<{ feed_id: string; content: string }>(
        `select feed_id, content::text as content from resource
          where resource_type = 'Patient' and source_id = any($1::text[]) order by feed_id, source_id`,
        [['K-6', 'K-7', 'K-8']],
      );
      assert.deepEqual(
        patients.rows.map((r) => [r.feed_id, /"line":\["([^"]+)"/.exec(r.content)?.[1]]),
        [
          ['rd8-pas', '7 Seventh St'],
          ['rx1-pas', '6 Sixth St'],
          ['rx1-pas', '8 Eighth St'],
        ],
      );
    });
  });
}
