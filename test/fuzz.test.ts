/**
 * A bounded run of the fuzz suite (test/fuzz/): the validator, the search parser and its SQL, the HL7 v2
 * parser and MLLP framing in process, and generated searches against the database itself (PGlite, and PostgreSQL when configured),
 * which must answer or refuse with a 4xx, never fail. `npm run fuzz` runs the same properties long, and an
 * HTTP fuzzer against a live server.
 */
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { initValidation } from '../src/fhir/validation.ts';
import { isIcrError } from '../src/shared/errors.ts';
import { executeSearch } from '../src/store/search/execute.ts';
import { search } from './fuzz/arbitraries.ts';
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
