/**
 * Applying several HL7 v2 messages in one transaction and set write (ADR 0047, issue 11):
 * `applyMappedMessages` writes the messages of a queue round together, one set per feed, each resource's
 * source time naming its own message; an invalid message fails alone with nothing of it written; two
 * messages writing one resource are applied in order (the later reconciles against the earlier); a set the
 * database refuses is applied message by message, so only the bad one fails. PGlite, and PostgreSQL when
 * configured.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseMessage } from '../src/ingest/hl7v2/parse.ts';
import { mapMessage } from '../src/ingest/mapping/index.ts';
import { applyMappedMessages, type MessageToApply } from '../src/records/feeds/apply-message.ts';
import { testDatabases } from './helpers/db.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const FEEDS = { RX1: 'rx1-pas', RD8: 'rd8-pas' } as const;

const adt = (facility: 'RX1' | 'RD8', control: string, pid3: string, street: string, time = '20260101120000') =>
  [
    `MSH|^~\\&|PAS|${facility}|ICR|ICR|${time}||ADT^A08^ADT_A01|${control}|P|2.4`,
    `EVN|A08|${time}`,
    `PID|1||${pid3}^^^${facility}^MR||JONES^EMILY||19750304|F|||${street}^^Exeter^^EX2 2BB`,
    `PV1|1|I|WARD1^BED1||||||||||||||||V${pid3}|||||||||||||||||||||||||20260101100000`,
  ].join('\r');

let nextMessageId = 1000;

/** A message as the queue job prepares it: parsed and mapped by the real mapping. */
function toApply(facility: 'RX1' | 'RD8', text: string): MessageToApply {
  const feedId = FEEDS[facility];
  const message = parseMessage(text);
  const mapped = mapMessage({ feedId, orgOds: facility }, message);
  if ('unsupported' in mapped) throw new Error(mapped.unsupported);
  return {
    actor: { kind: 'system', systemId: `feed:${feedId}`, orgOds: facility, via: { channel: 'mllp' } },
    mapped,
    context: {
      feedId,
      orgOds: facility,
      messageId: (nextMessageId += 1),
      controlId: message.header.controlId,
      type: message.type,
      receivedAt: '2026-01-01T12:00:01Z',
    },
  };
}

for (const which of testDatabases) {
  describe(`applying HL7 v2 messages as one set (${which})`, () => {
    let t: TestApp;
    const stored = async (m: MessageToApply) =>
      (
        await t.t.db.query<{
          resource_type: string;
          id: string;
          content: string;
          feed_id: string | null;
          message_id: string | null;
        }>(
          `select r.resource_type, r.id, r.content, r.feed_id, s.message_id::text as message_id
             from resource r left join feed_source_time s on s.resource_type = r.resource_type and s.id = r.id
            where r.id = any($1::text[]) and not r.deleted order by r.resource_type`,
          [m.mapped.resources.map((r) => r.id)],
        )
      ).rows;

    before(async () => {
      t = await openTestApp(which);
    });
    after(async () => {
      await t.close();
    });

    it('writes the messages of two feeds together, each resource’s source time naming its own message', async () => {
      const items = [
        toApply('RX1', adt('RX1', 'S-1', 'S1', '1 One St')),
        toApply('RD8', adt('RD8', 'S-2', 'S2', '2 Two St')),
        toApply('RX1', adt('RX1', 'S-3', 'S3', '3 Three St')),
      ];
      const results = await applyMappedMessages(t.records, items);
      for (const [n, r] of results.entries()) {
        assert.ok('outcome' in r && r.outcome.ok, `message ${n}: ${JSON.stringify(r)}`);
        assert.equal(r.outcome.written, items[n]?.mapped.resources.length);
      }
      for (const m of items) {
        const rows = await stored(m);
        assert.deepEqual(rows.map((r) => r.resource_type).sort(), m.mapped.resources.map((r) => r.resourceType).sort());
        for (const row of rows) {
          assert.equal(row.message_id, String(m.context.messageId));
          assert.equal(row.feed_id, m.context.feedId, `${row.resource_type} written as its own feed`);
        }
      }
    });

    it('fails an invalid message alone, writing none of it, and the others as usual', async () => {
      const good1 = toApply('RX1', adt('RX1', 'V-1', 'V1', '1 Good St'));
      const bad = toApply('RX1', adt('RX1', 'V-2', 'V2', '2 Bad St'));
      const good2 = toApply('RD8', adt('RD8', 'V-3', 'V3', '3 Good St'));
      const patient = bad.mapped.resources.find((r) => r.resourceType === 'Patient');
      assert.ok(patient);
      (patient as { gender?: string }).gender = 'not-a-gender';
      const results = await applyMappedMessages(t.records, [good1, bad, good2]);
      const [r1, r2, r3] = results;
      assert.ok(r1 && 'outcome' in r1 && r1.outcome.ok);
      assert.ok(r3 && 'outcome' in r3 && r3.outcome.ok);
      assert.ok(r2 && 'outcome' in r2 && !r2.outcome.ok, JSON.stringify(r2));
      assert.match(r2.outcome.reason, /^invalid FHIR from ADT\^A08: Patient: /);
      assert.equal((await stored(bad)).length, 0, 'nothing of the invalid message is written');
      assert.equal((await stored(good1)).length, good1.mapped.resources.length);
      assert.equal((await stored(good2)).length, good2.mapped.resources.length);
    });

    it('applies two messages writing one resource in order: the older one does not overwrite the newer', async () => {
      const newer = toApply('RX1', adt('RX1', 'W-2', 'W1', '2 New Rd', '20260301120000'));
      const older = toApply('RX1', adt('RX1', 'W-1', 'W1', '1 Old Rd', '20260201120000'));
      const other = toApply('RD8', adt('RD8', 'W-3', 'W3', '3 Other Rd'));
      const results = await applyMappedMessages(t.records, [newer, older, other]);
      for (const r of results) assert.ok('outcome' in r && r.outcome.ok, JSON.stringify(r));
      const r2 = results[1];
      assert.ok(r2 && 'outcome' in r2 && r2.outcome.ok);
      assert.ok(r2.outcome.olderSkipped >= 1, JSON.stringify(r2));
      const rows = await stored(newer);
      const patient = rows.find((r) => r.resource_type === 'Patient');
      assert.ok(patient);
      assert.match(patient.content, /2 New Rd/);
      assert.equal(patient.message_id, String(newer.context.messageId));
      assert.equal((await stored(other)).length, other.mapped.resources.length);
    });

    it('applies message by message when the database refuses the set, so only the bad message fails', async () => {
      const good1 = toApply('RX1', adt('RX1', 'D-1', 'D1', '1 Fine St'));
      const bad = toApply('RD8', adt('RD8', 'D-2', 'D2', '2 Broken St'));
      const good2 = toApply('RX1', adt('RX1', 'D-3', 'D3', '3 Fine St'));
      // A source time the database cannot store: the set's statement fails, and so does this message alone.
      bad.mapped = { ...bad.mapped, sourceTime: 'not a time' };
      const [r1, r2, r3] = await applyMappedMessages(t.records, [good1, bad, good2]);
      assert.ok(r1 && 'outcome' in r1 && r1.outcome.ok, JSON.stringify(r1));
      assert.ok(r3 && 'outcome' in r3 && r3.outcome.ok, JSON.stringify(r3));
      assert.ok(r2 && 'error' in r2, JSON.stringify(r2));
      assert.equal((await stored(bad)).length, 0, 'the refused message left nothing behind');
      assert.equal((await stored(good1)).length, good1.mapped.resources.length);
      assert.equal((await stored(good2)).length, good2.mapped.resources.length);
    });
  });
}
