/**
 * Hostile input (issue 14): every failure found by fuzzing `npm start`, through the real HTTP API on both
 * databases. Each answer is a precise 4xx OperationOutcome (never a 500, never a non-FHIR body), nothing
 * malformed is stored, and no single request holds the server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '../src/auth/tokens.ts';
import { testDatabases } from './helpers/db.ts';
import { openTestApp, TEST_TOKEN_SECRET, type TestApp } from './helpers/services.ts';

const FHIR = 'application/fhir+json';

interface Outcome {
  resourceType: string;
  issue: Array<{ code: string; details?: { coding?: Array<{ code: string }>; text?: string }; expression?: string[] }>;
}

function outcome(body: string): Outcome {
  const oo = JSON.parse(body) as Outcome;
  assert.equal(oo.resourceType, 'OperationOutcome', body.slice(0, 300));
  return oo;
}

function codeOf(body: string): string | undefined {
  return outcome(body).issue[0]?.details?.coding?.[0]?.code;
}

const random = (n: number, seed = 7): string => {
  // Printable ASCII without the characters FHIR ids, URLs or JSON treat specially; deterministic.
  let x = seed;
  let s = '';
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    s += String.fromCharCode(0x41 + (x % 26) + ((x >> 8) % 2 === 0 ? 0 : 32));
  }
  return s;
};

for (const kind of testDatabases) {
  describe(`HTTP hostile input (${kind})`, () => {
    let ta: TestApp;
    let auth: string;
    before(async () => {
      ta = await openTestApp(kind);
      auth = await ta.auth();
      const res = await send('POST', '/fhir/Patient', {
        resourceType: 'Patient',
        name: [{ family: 'Hostile', given: ['Ann'] }],
        birthDate: '1970-01-01',
      });
      assert.equal(res.statusCode, 201, res.body);
    });
    after(async () => {
      await ta.close();
    });

    const send = (method: 'GET' | 'POST' | 'PUT', url: string, body?: unknown, headers: Record<string, string> = {}) =>
      ta.app.inject({
        method,
        url,
        headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': FHIR }), ...headers },
        ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
    const count = async (type: string) => (await send('GET', `/fhir/${type}?_summary=count`)).json().total as number;

    /** A 4xx OperationOutcome with the given code (and, when given, an issue naming `expression`). */
    const refused = (
      res: { statusCode: number; body: string },
      status: number,
      code: string,
      expression?: string | RegExp,
    ) => {
      assert.equal(res.statusCode, status, res.body.slice(0, 500));
      assert.equal(codeOf(res.body), code, res.body.slice(0, 500));
      if (expression !== undefined) {
        const exprs = outcome(res.body).issue.flatMap((i) => i.expression ?? []);
        assert.ok(
          exprs.some((e) => (typeof expression === 'string' ? e === expression : expression.test(e))),
          `no issue at ${String(expression)}: ${exprs.join(', ')}`,
        );
      }
    };

    describe('search values the database cannot hold', () => {
      for (const url of [
        '/fhir/Patient?family=a%00b',
        '/fhir/Patient?_id=a%00b',
        '/fhir/Patient?identifier=x%00y',
        '/fhir/Patient?identifier=sys%00|val',
        '/fhir/Patient?_source=a%00b',
        '/fhir/Observation?subject.family=a%00b',
        '/fhir/Observation?subject:Patient.name=a%00',
        '/fhir/Patient?family=%ED%A0%80',
        '/fhir/Patient?family=a%EDb',
      ]) {
        it(`refuses a NUL byte or broken UTF-8: ${url}`, async () => {
          refused(await send('GET', url), 400, 'ICR_INVALID_SEARCH');
        });
      }
      it('refuses a NUL byte in a POST _search body', async () => {
        const res = await ta.app.inject({
          method: 'POST',
          url: '/fhir/Patient/_search',
          headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
          payload: 'family=a%00b',
        });
        refused(res, 400, 'ICR_INVALID_SEARCH');
      });

      for (const url of [
        '/fhir/Patient?_lastUpdated=9999-12-31T23:59:59.999Z',
        '/fhir/Patient?_lastUpdated=ap0001-01-01T00:00:00Z',
        '/fhir/Patient?_lastUpdated=gt9999-12-31',
        '/fhir/Patient?birthdate=ap9999-12-31',
        '/fhir/Patient?birthdate=ap0001-01-01',
        '/fhir/Patient?birthdate=0000-01-01',
        '/fhir/Patient?birthdate=10000-01-01',
        '/fhir/Patient?birthdate=9999-12-31T23:59:59-14:00',
      ]) {
        it(`refuses or answers a date at the edge of 0001–9999: ${url}`, async () => {
          const res = await send('GET', url);
          assert.ok(res.statusCode < 500, `${res.statusCode} ${res.body.slice(0, 300)}`);
          if (res.statusCode !== 200) refused(res, 400, 'ICR_INVALID_SEARCH');
        });
      }
      it('refuses _since outside 0001–9999', async () => {
        for (const url of [
          '/fhir/Patient/_history?_since=9999-12-31T24:00:00Z',
          '/fhir/Patient/_history?_since=0000-12-31T00:00:00Z',
          '/fhir/_history?_since=9999-12-31T24:00:00Z',
        ]) {
          const res = await send('GET', url);
          assert.ok(res.statusCode < 500, `${url}: ${res.statusCode} ${res.body.slice(0, 300)}`);
          assert.equal(
            res.statusCode === 404 ? 'ICR_NOT_FOUND' : codeOf(res.body),
            res.statusCode === 404 ? 'ICR_NOT_FOUND' : 'ICR_INVALID_SEARCH',
            url,
          );
        }
      });

      for (const url of [
        '/fhir/Patient?family:contains=%CC%81',
        '/fhir/Patient?family=%20',
        '/fhir/Patient?name=%20%20',
        '/fhir/Patient?family:exact=%20',
        '/fhir/Patient?name:contains=%CC%81%CC%80',
      ]) {
        it(`refuses a search value that normalises to nothing: ${url}`, async () => {
          refused(await send('GET', url), 400, 'ICR_INVALID_SEARCH');
        });
      }
    });

    it('finds a name of 200 emoji by its first 130 (fuzz crasher: a cut that split a surrogate pair)', async () => {
      const family = `a${'😀'.repeat(200)}`; // cut at 256 UTF-16 units falls inside a pair
      const created = await send('POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family }] });
      assert.equal(created.statusCode, 201, created.body.slice(0, 300));
      const res = await send('GET', `/fhir/Patient?family=${encodeURIComponent(`a${'😀'.repeat(130)}`)}`);
      assert.equal(res.statusCode, 200, res.body.slice(0, 300));
      assert.ok(res.json().entry.some((e: { resource: { id: string } }) => e.resource.id === created.json().id));
    });

    describe('values longer than an index row', () => {
      const long = random(3000);
      const bodies: Array<[string, Record<string, unknown>]> = [
        [
          'a long reference',
          {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'x' },
            subject: { reference: `https://example.org/fhir/${long}` },
          },
        ],
        [
          'a long reference URN',
          {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'x' },
            subject: { reference: `urn:uuid:${long}` },
          },
        ],
        [
          'a long identifier system',
          { resourceType: 'Patient', identifier: [{ system: `https://example.org/${long}`, value: '1' }] },
        ],
        [
          'a long identifier value',
          { resourceType: 'Patient', identifier: [{ system: 'https://example.org/id', value: long }] },
        ],
        [
          'a long identifier value and system',
          { resourceType: 'Patient', identifier: [{ system: `https://example.org/${long}`, value: random(3000, 11) }] },
        ],
        [
          'a long code',
          {
            resourceType: 'Observation',
            status: 'final',
            code: { coding: [{ system: `https://example.org/${long}`, code: random(4000, 3) }] },
          },
        ],
        ['a long uri', { resourceType: 'Patient', meta: { source: `https://example.org/${long}` } }],
        ['a long profile', { resourceType: 'Patient', meta: { profile: [`https://example.org/${long}`] } }],
        ['a long name', { resourceType: 'Patient', name: [{ family: long, given: [random(5000, 5)] }] }],
      ];
      for (const [what, body] of bodies) {
        it(`stores ${what} and finds it again by exact match, or refuses it with 422 naming the element`, async () => {
          const res = await send('POST', `/fhir/${body.resourceType as string}`, body);
          assert.ok(res.statusCode === 201 || res.statusCode === 422, `${res.statusCode} ${res.body.slice(0, 500)}`);
          if (res.statusCode === 422) {
            assert.equal(codeOf(res.body), 'ICR_VALIDATION_FAILED');
            assert.ok(outcome(res.body).issue.every((i) => (i.expression ?? []).length > 0));
          }
        });
      }

      it('finds a resource by an identifier longer than an index row', async () => {
        const system = `https://example.org/${random(2900, 21)}`;
        const value = random(3100, 22);
        const created = await send('POST', '/fhir/Patient', {
          resourceType: 'Patient',
          identifier: [{ system, value }],
        });
        assert.equal(created.statusCode, 201, created.body.slice(0, 300));
        const id = created.json().id as string;
        const found = await send('POST', '/fhir/Patient/_search', undefined, {});
        assert.ok(found.statusCode < 500);
        const res = await ta.app.inject({
          method: 'POST',
          url: '/fhir/Patient/_search',
          headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ identifier: `${system}|${value}` }).toString(),
        });
        assert.equal(res.statusCode, 200, res.body.slice(0, 300));
        assert.deepEqual(
          res.json().entry.map((e: { resource: { id: string } }) => e.resource.id),
          [id],
        );
        // A value that shares the first few thousand characters is a different value.
        const near = await ta.app.inject({
          method: 'POST',
          url: '/fhir/Patient/_search',
          headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams({ identifier: `${system}|${value.slice(0, -1)}x` }).toString(),
        });
        assert.equal(near.statusCode, 200);
        assert.equal(near.json().total, 0);
      });

      it('stores a 3.6 MB document', async () => {
        const big = random(3_600_000, 9);
        const res = await send('POST', '/fhir/DocumentReference', {
          resourceType: 'DocumentReference',
          status: 'current',
          description: big.slice(0, 100_000),
          content: [
            {
              attachment: {
                contentType: 'text/plain',
                url: `https://example.org/${big.slice(0, 5000)}`,
                title: big.slice(0, 20_000),
                data: Buffer.from(big).toString('base64'),
              },
            },
          ],
        });
        assert.ok(
          res.statusCode === 201 || res.statusCode === 422 || res.statusCode === 413,
          `${res.statusCode} ${res.body.slice(0, 500)}`,
        );
        if (res.statusCode !== 201) assert.equal(outcome(res.body).resourceType, 'OperationOutcome');
      });
    });

    describe('validation holes', () => {
      const cases: Array<[string, Record<string, unknown>, string | RegExp]> = [
        [
          'an object where a string belongs',
          {
            resourceType: 'Immunization',
            status: 'completed',
            vaccineCode: { text: { extension: [] } },
            patient: { reference: 'Patient/x' },
            occurrenceDateTime: '2020-01-01',
          },
          'Immunization.vaccineCode.text',
        ],
        ['an empty object where a code belongs', { resourceType: 'Location', mode: {} }, 'Location.mode'],
        ['an array where a code belongs', { resourceType: 'Location', mode: ['instance'] }, 'Location.mode'],
        [
          'null where a string belongs',
          { resourceType: 'Patient', name: [{ family: null }] },
          /^Patient\.name\[0\]\.family/,
        ],
        // Found by npm run fuzz (mutated demo resources): each was a 500 after validation let it through.
        [
          'an empty object where an array belongs (identifier)',
          { resourceType: 'Patient', identifier: {} },
          'Patient.identifier',
        ],
        ['an empty object where an array belongs (name)', { resourceType: 'Patient', name: {} }, 'Patient.name'],
        [
          'a NUL character in a uri',
          {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'x' },
            valueQuantity: { value: 20.2, unit: 'kg', system: '\u0000:*-1', code: 'kg' },
          },
          /^Observation\.value/,
        ],
        ['an element named toString', { resourceType: 'Patient', toString: 'x' }, /toString/],
        ['an element named hasOwnProperty', { resourceType: 'Patient', hasOwnProperty: 1 }, /hasOwnProperty/],
        ['an element named valueOf', { resourceType: 'Patient', name: [{ valueOf: {} }] }, /valueOf/],
        ['an element named constructor', { resourceType: 'Patient', constructor: {} }, /constructor/],
        [
          'a reference id over 64 characters',
          {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'x' },
            subject: { reference: `Patient/${'a'.repeat(65)}` },
          },
          'Observation.subject.reference',
        ],
        [
          'a reference id with forbidden characters',
          { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/a_b' } },
          'Observation.subject.reference',
        ],
        [
          'a NUL character in a string',
          { resourceType: 'Patient', name: [{ family: 'a\u0000b' }] },
          /^Patient\.name\[0\]\.family/,
        ],
        [
          'a lone surrogate in a string',
          { resourceType: 'Patient', name: [{ family: 'a\ud800b' }] },
          /^Patient\.name\[0\]\.family/,
        ],
        ['a date before the year 1', { resourceType: 'Patient', birthDate: '0000-01-01' }, 'Patient.birthDate'],
        [
          'an instant past 9999',
          { resourceType: 'Patient', meta: { lastUpdated: '9999-12-31T24:00:00Z' } },
          /^Patient\.meta\.lastUpdated/,
        ],
      ];
      for (const [what, body, expression] of cases) {
        it(`refuses ${what} with 422 naming the element, and stores nothing`, async () => {
          const type = body.resourceType as string;
          const before = await count(type);
          const res = await send('POST', `/fhir/${type}`, body);
          refused(res, 422, 'ICR_VALIDATION_FAILED', expression);
          assert.equal(await count(type), before);
        });
      }

      it('refuses "id": null on create', async () => {
        const res = await send('POST', '/fhir/Patient', { resourceType: 'Patient', id: null });
        assert.ok(res.statusCode === 400 || res.statusCode === 422, res.body);
        assert.match(String(codeOf(res.body)), /ICR_INVALID_RESOURCE|ICR_VALIDATION_FAILED/);
      });

      it('refuses ids on update that break the FHIR id rule', async () => {
        const res = await send('PUT', `/fhir/Patient/${'a'.repeat(65)}`, {
          resourceType: 'Patient',
          id: 'a'.repeat(65),
        });
        assert.ok(res.statusCode === 400 || res.statusCode === 404, res.body);
        outcome(res.body);
      });
    });

    describe('bounded work per request', () => {
      it('refuses Observation.note with 20,000 numbers at once (it took 14 s to validate)', async () => {
        const res = await send('POST', '/fhir/Observation', {
          resourceType: 'Observation',
          status: 'final',
          code: { text: 'x' },
          note: Array.from({ length: 20_000 }, (_, i) => i),
        });
        refused(res, 400, 'ICR_LIMIT_EXCEEDED', 'Observation.note');
      });

      it('reports at most 100 validation issues, then one saying how many more', async () => {
        const before = await count('Observation');
        const res = await send('POST', '/fhir/Observation', {
          resourceType: 'Observation',
          status: 'final',
          code: { text: 'x' },
          note: Array.from({ length: 5_000 }, (_, i) => i),
        });
        refused(res, 422, 'ICR_VALIDATION_FAILED', 'Observation.note[0]');
        const issues = outcome(res.body).issue;
        assert.equal(issues.length, 101);
        assert.equal(issues.at(-1)?.details?.text, '4900 more problems were found and not listed');
        assert.equal(await count('Observation'), before);
      });

      it('refuses nesting deeper than the limit', async () => {
        let ext: unknown = { url: 'https://x', valueString: 'x' };
        for (let i = 0; i < 200; i++) ext = { url: 'https://x', extension: [ext] };
        const res = await send('POST', '/fhir/Patient', { resourceType: 'Patient', extension: [ext] });
        refused(res, 400, 'ICR_LIMIT_EXCEEDED', /^Patient\.extension\[0\](\.extension\[0\])+$/);
      });

      it('refuses an array longer than the limit', async () => {
        const res = await send('POST', '/fhir/Patient', {
          resourceType: 'Patient',
          name: Array.from({ length: 10_001 }, () => ({ family: 'x' })),
        });
        refused(res, 400, 'ICR_LIMIT_EXCEEDED', 'Patient.name');
      });

      it('refuses a string longer than the limit, but not a base64 document that size', async () => {
        const res = await send('POST', '/fhir/Patient', {
          resourceType: 'Patient',
          name: [{ family: 'x'.repeat(1_048_577) }],
        });
        refused(res, 400, 'ICR_LIMIT_EXCEEDED', 'Patient.name[0].family');
        const doc = await send('POST', '/fhir/Binary', {
          resourceType: 'Binary',
          contentType: 'text/plain',
          data: Buffer.from('x'.repeat(1_048_577)).toString('base64'),
        });
        assert.equal(doc.statusCode, 201, doc.body.slice(0, 300));
      });

      it('refuses more search parameters than the limit (GET and POST _search)', async () => {
        const many = Array.from({ length: 101 }, (_, i) => `family=a${i}`).join('&');
        refused(await send('GET', `/fhir/Patient?${many}`), 400, 'ICR_LIMIT_EXCEEDED');
        const res = await ta.app.inject({
          method: 'POST',
          url: '/fhir/Patient/_search',
          headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
          payload: many,
        });
        refused(res, 400, 'ICR_LIMIT_EXCEEDED');
        const values = `family=${Array.from({ length: 101 }, (_, i) => `a${i}`).join(',')}`;
        refused(await send('GET', `/fhir/Patient?${values}`), 400, 'ICR_LIMIT_EXCEEDED');
      });

      it('refuses a NUL in a path id with a 400 OperationOutcome on every route (found by npm run fuzz: 500)', async () => {
        for (const [method, url] of [
          ['GET', '/fhir/Patient/%00'],
          ['DELETE', '/fhir/Patient/%00'],
          ['GET', '/fhir/Patient/a%00b/_history'],
          ['GET', '/fhir/Observation/%00/_history/1?_since=2020-01-01'],
          ['GET', '/fhir/Patient/%00/$everything'],
          ['GET', '/fhir//%00?_count=-1'],
          ['GET', '/fhir/Patient/x/_history/%00'],
        ] as const) {
          const res = await ta.app.inject({ method, url, headers: { authorization: auth } });
          refused(res, 400, 'ICR_BAD_REQUEST');
        }
        // The same id without the NUL is simply not there.
        assert.equal((await send('GET', '/fhir/Patient/ab')).statusCode, 404);
      });

      it('answers a query string over 16 KB with an OperationOutcome', async () => {
        const res = await send('GET', `/fhir/Patient?family=${'a'.repeat(17_000)}`);
        assert.ok(res.statusCode === 414 || res.statusCode === 431 || res.statusCode === 400, String(res.statusCode));
        outcome(res.body);
      });

      it('refuses a bearer token living longer than ICR_TOKEN_MAX_TTL (exp 10^20) with a 401 OperationOutcome', async () => {
        // Its own app, so that development tokens (HS256, the dev secret) are accepted at all: the signature
        // is good and only the lifetime is wrong.
        const dev = await openTestApp(kind, { ICR_ALLOW_DEV_TOKENS: 'true', ICR_TOKEN_MAX_TTL: '3600' });
        try {
          const iat = Math.floor(Date.now() / 1000);
          const sign = (exp: number) =>
            new SignJWT({ org: 'A81001', role: 'R8000', name: 'Dr A Gp', icr_dev: true })
              .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
              .setSubject('gp-a81001')
              .setIssuer(TOKEN_ISSUER)
              .setAudience(TOKEN_AUDIENCE)
              .setIssuedAt(iat)
              .setExpirationTime(exp)
              .sign(new TextEncoder().encode(TEST_TOKEN_SECRET));
          const read = async (exp: number) =>
            dev.app.inject({
              url: '/fhir/Patient?family=Hostile',
              headers: { authorization: `Bearer ${await sign(exp)}` },
            });
          // The same token within the cap is accepted (the check below can fail).
          assert.equal((await read(iat + 600)).statusCode, 200);
          for (const exp of [1e20, iat + 7200]) {
            const res = await read(exp);
            refused(res, 401, 'ICR_UNAUTHENTICATED');
          }
        } finally {
          await dev.close();
        }
      });

      it('exports the event-loop delay in /metrics', async () => {
        const res = await ta.app.inject({ url: '/metrics' });
        assert.equal(res.statusCode, 200);
        assert.match(res.body, /icr_event_loop_delay_seconds/);
      });
    });
  });
}
