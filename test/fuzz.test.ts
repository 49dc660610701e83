/**
 * A bounded run of the fuzz suite (test/fuzz/): the validator, the search parser and its SQL, the HL7 v2
 * parser and MLLP framing in process, and generated searches and MLLP payloads against the database itself (PGlite, and
 * PostgreSQL when configured): a search must answer or be refused with a 4xx, never fail; a payload must be
 * acknowledged AA, AE or AR, with ERR when not AA. `npm run fuzz` runs the same properties long, and an
 * HTTP fuzzer against a live server.
 */
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { initValidation } from '../src/fhir/validation.ts';
import { isIcrError } from '../src/shared/errors.ts';
import { executeSearch } from '../src/store/search/execute.ts';
import assert from 'node:assert/strict';
import { parseMessage } from '../src/ingest/hl7v2/parse.ts';
import { Hl7Intake } from '../src/ingest/mllp/intake.ts';
import { FeedService } from '../src/records/feeds/feed-service.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { search } from './fuzz/arbitraries.ts';
import { intakeProperty, KNOWN_SENDER } from './fuzz/hl7-properties.ts';
import { parseQuery, runProperties } from './fuzz/properties.ts';
import { openTestDb, testDatabases, type TestDb } from './helpers/db.ts';

describe('fuzz: validator, search parser and SQL, HL7 v2 parser and MLLP framing (in process)', () => {
  it('2,000 inputs each: only precise 4xx refusals, and SQL that binds what PostgreSQL holds', () => {
    initValidation();
    runProperties(2_000);
  });
});

for (const kind of testDatabases) {
  describe(`fuzz: generated searches against the database (${kind})`, () => {
    let t: TestDb;
    before(async () => {
      t = await openTestDb(kind);
    });
    after(async () => {
      await t.close();
    });

    let intake: Hl7Intake;
    const registerFeed = async () => {
      if (intake) return intake;
      const feeds = new FeedService({ db: t.db });
      await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'FZ1', name: 'Fuzz Trust', kind: 'acute' });
      await feeds.addFeed(SYSTEM_ACTOR, {
        id: 'fuzz-pas',
        org: 'FZ1',
        protocol: 'mllp',
        sendingApplication: KNOWN_SENDER.application,
        sendingFacility: KNOWN_SENDER.facility,
      });
      intake = new Hl7Intake(feeds);
      return intake;
    };

    it('a NUL in MSH-3 is answered AR with ERR, never sent to the database (found by this suite)', async () => {
      const r = await (
        await registerFeed()
      ).handle({ bytes: Buffer.from('MSH|^~\\&|\u0000|FAC\r'), remoteAddress: '127.0.0.1', connectionId: 'c' });
      assert.equal(r.code, 'AR');
      const ack = parseMessage(r.ack);
      assert.equal(ack.segment('MSA')?.get(1), 'AR');
      assert.ok(ack.segment('ERR'));
    });

    it('300 MLLP payloads: each is answered AA, AE or AR, with ERR when not AA', async () => {
      await fc.assert(intakeProperty(await registerFeed()), { numRuns: 300 });
    });

    it('300 searches: each answers or is refused with a 4xx before SQL', async () => {
      await fc.assert(
        fc.asyncProperty(search, async ({ type, query }) => {
          const req = parseQuery(type, query, true);
          if (!req) return;
          try {
            await executeSearch(t.db, req);
          } catch (e) {
            if (isIcrError(e) && e.status < 500) return;
            throw e;
          }
        }),
        { numRuns: 300 },
      );
    });
  });
}
