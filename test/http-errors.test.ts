/**
 * Bad input everywhere gives a 4xx OperationOutcome and writes nothing; unknown routes are a 404
 * OperationOutcome; a 500 never leaks internal detail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../src/http/app.ts';
import type { RecordsService } from '../src/records/records-service.ts';
import { testDatabases } from './helpers/db.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const BODY_LIMIT = 64 * 1024;

function codeOf(body: string): string | undefined {
  const oo = JSON.parse(body) as {
    resourceType: string;
    issue: Array<{ details?: { coding?: Array<{ code: string }> } }>;
  };
  assert.equal(oo.resourceType, 'OperationOutcome');
  return oo.issue[0]?.details?.coding?.[0]?.code;
}

for (const kind of testDatabases) {
  describe(`HTTP bad input (${kind})`, () => {
    let ta: TestApp;
    let auth: string;
    before(async () => {
      ta = await openTestApp(kind, { ICR_BODY_LIMIT: String(BODY_LIMIT) });
      auth = await ta.auth();
    });
    after(async () => {
      await ta.close();
    });

    const send = (
      method: 'GET' | 'POST' | 'PUT' | 'DELETE',
      url: string,
      payload?: string,
      headers: Record<string, string> = {},
    ) =>
      ta.app.inject({
        method,
        url,
        headers: {
          authorization: auth,
          ...(payload === undefined ? {} : { 'content-type': 'application/fhir+json' }),
          ...headers,
        },
        ...(payload === undefined ? {} : { payload }),
      });
    const patientCount = async () => (await send('GET', '/fhir/Patient?_summary=count')).json().total as number;

    it('malformed JSON is 400 ICR_INVALID_JSON, and nothing is written', async () => {
      const before = await patientCount();
      for (const payload of ['{"resourceType":"Patient",', 'not json', '{"resourceType":"Patient"}}']) {
        const res = await send('POST', '/fhir/Patient', payload);
        assert.equal(res.statusCode, 400, payload);
        assert.equal(res.headers['content-type'], 'application/fhir+json; charset=utf-8');
        assert.equal(codeOf(res.body), 'ICR_INVALID_JSON');
      }
      const proto = await send('POST', '/fhir/Patient', '{"resourceType":"Patient","__proto__":{"x":1}}');
      assert.equal(proto.statusCode, 400);
      assert.equal(await patientCount(), before);
    });

    it('a body over the limit is 413', async () => {
      const big = JSON.stringify({
        resourceType: 'Patient',
        text: { status: 'generated', div: `<div>${'x'.repeat(BODY_LIMIT)}</div>` },
      });
      const res = await send('POST', '/fhir/Patient', big);
      assert.equal(res.statusCode, 413);
      assert.equal(codeOf(res.body), 'ICR_PAYLOAD_TOO_LARGE');
    });

    it('only FHIR JSON and JSON (UTF-8) bodies are accepted: anything else is 415', async () => {
      const body = JSON.stringify({ resourceType: 'Patient' });
      for (const type of [
        'application/xml',
        'text/plain',
        'application/fhir+xml',
        'application/x-www-form-urlencoded',
        'application/json; charset=latin1',
      ]) {
        const res = await send('POST', '/fhir/Patient', body, { 'content-type': type });
        assert.equal(res.statusCode, 415, type);
        assert.equal(codeOf(res.body), 'ICR_UNSUPPORTED_MEDIA_TYPE');
      }
      for (const type of [
        'application/json',
        'application/json; charset=utf-8',
        'application/fhir+json;charset=UTF-8',
      ]) {
        assert.equal((await send('POST', '/fhir/Patient', body, { 'content-type': type })).statusCode, 201, type);
      }
    });

    it('asking for a format other than FHIR JSON is 406', async () => {
      assert.equal((await send('GET', '/fhir/Patient?_format=xml')).statusCode, 406);
      assert.equal((await send('GET', '/fhir/Patient', undefined, { accept: 'application/fhir+xml' })).statusCode, 406);
      assert.equal(
        (await send('GET', '/fhir/Patient', undefined, { accept: 'application/fhir+json' })).statusCode,
        200,
      );
      assert.equal((await send('GET', '/fhir/Patient?_format=json')).statusCode, 200);
      assert.equal((await send('GET', '/fhir/Patient', undefined, { accept: 'text/html, */*;q=0.8' })).statusCode, 200);
    });

    it('a resourceType that differs from the URL, or a non-object body, is 400', async () => {
      const before = await patientCount();
      const wrong = await send('POST', '/fhir/Patient', JSON.stringify({ resourceType: 'Observation' }));
      assert.equal(wrong.statusCode, 400);
      assert.equal(codeOf(wrong.body), 'ICR_INVALID_RESOURCE');
      assert.equal(
        (await send('PUT', '/fhir/Patient/x1', JSON.stringify({ resourceType: 'Observation', id: 'x1' }))).statusCode,
        400,
      );
      assert.equal((await send('POST', '/fhir/Patient', '[1,2]')).statusCode, 400);
      assert.equal((await send('POST', '/fhir/Patient', '"Patient"')).statusCode, 400);
      assert.equal((await send('POST', '/fhir/Patient', JSON.stringify({ gender: 'male' }))).statusCode, 400);
      assert.equal((await send('POST', '/fhir/Patient')).statusCode, 400, 'no body');
      assert.equal(await patientCount(), before);
    });

    it('an invalid resource is 422 with one issue per problem, and nothing is written', async () => {
      const before = await patientCount();
      const res = await send(
        'POST',
        '/fhir/Patient',
        JSON.stringify({ resourceType: 'Patient', gender: 'robot', birthDate: 'yesterday' }),
      );
      assert.equal(res.statusCode, 422);
      const oo = res.json();
      assert.ok(oo.issue.length >= 2);
      assert.ok(oo.issue.every((i: { expression?: string[] }) => i.expression?.[0]?.startsWith('Patient.')));
      assert.equal(await patientCount(), before);
    });

    it('invalid search syntax is 400', async () => {
      for (const q of ['birthdate=notadate', '_count=-1', 'gender:nonsense=male', 'unknownparam=1']) {
        const res = await send('GET', `/fhir/Patient?${q}`);
        assert.equal(res.statusCode, 400, q);
        assert.equal(JSON.parse(res.body).resourceType, 'OperationOutcome');
      }
    });

    it('an unknown resource type is 404 ICR_UNSUPPORTED_TYPE on every interaction', async () => {
      for (const [method, url, body] of [
        ['GET', '/fhir/Questionnaire/1', undefined],
        ['GET', '/fhir/NotAType', undefined],
        ['POST', '/fhir/NotAType', '{"resourceType":"NotAType"}'],
        ['PUT', '/fhir/NotAType/1', '{"resourceType":"NotAType","id":"1"}'],
        ['DELETE', '/fhir/NotAType/1', undefined],
        ['GET', '/fhir/NotAType/1/_history', undefined],
      ] as const) {
        const res = await send(method, url, body);
        assert.equal(res.statusCode, 404, `${method} ${url}`);
        assert.equal(codeOf(res.body), 'ICR_UNSUPPORTED_TYPE');
      }
    });

    it('an invalid id is 400', async () => {
      for (const id of ['a_b', 'x'.repeat(65), 'a%20b']) {
        const res = await send('GET', `/fhir/Patient/${id}`);
        assert.equal(res.statusCode, 400, id);
        assert.equal(codeOf(res.body), 'ICR_BAD_REQUEST');
      }
      assert.equal(
        (await send('PUT', '/fhir/Patient/a_b', JSON.stringify({ resourceType: 'Patient', id: 'a_b' }))).statusCode,
        400,
      );
    });

    it('unknown routes and conditional delete answer with an OperationOutcome', async () => {
      const res = await send('GET', '/nothing/here');
      assert.equal(res.statusCode, 404);
      assert.equal(codeOf(res.body), 'ICR_NOT_FOUND');
      const deep = await send('GET', '/fhir/Patient/1/2/3/4');
      assert.equal(deep.statusCode, 404);
      const condDelete = await send('DELETE', '/fhir/Patient?gender=male');
      assert.equal(condDelete.statusCode, 405);
      assert.equal(codeOf(condDelete.body), 'ICR_METHOD_NOT_ALLOWED');
    });

    it('a 500 carries only the request id, never the internal message', async () => {
      const failing = {
        async read() {
          throw new Error('relation "resource" does not exist: SELECT content FROM resource WHERE nhs = 9990000018');
        },
      } as unknown as RecordsService;
      const app = buildApp({
        records: failing,
        db: ta.t.db,
        config: ta.config,
        tokens: ta.tokens,
        migrationsUpToDate: async () => true,
      });
      try {
        const res = await app.inject({
          url: '/fhir/Patient/p1',
          headers: { authorization: auth, 'x-request-id': 'req-12345678' },
        });
        assert.equal(res.statusCode, 500);
        assert.equal(res.headers['x-request-id'], 'req-12345678');
        assert.doesNotMatch(res.body, /relation|SELECT|9990000018|stack/i);
        assert.match(res.body, /req-12345678/);
        assert.equal(codeOf(res.body), 'ICR_INTERNAL');
      } finally {
        await app.close();
      }
    });
  });
}

describe('HTTP logging', () => {
  it('logs the request id, route template and actor id, never URLs, bodies, names, NHS numbers or tokens', async () => {
    const lines: string[] = [];
    const { default: pino } = await import('pino');
    const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(s) });
    const ta = await openTestApp('pglite');
    const app = buildApp({
      records: ta.records,
      db: ta.t.db,
      config: ta.config,
      tokens: ta.tokens,
      logger,
      migrationsUpToDate: async () => true,
    });
    try {
      const auth = await ta.auth();
      await app.inject({
        method: 'POST',
        url: '/fhir/Patient',
        headers: { authorization: auth, 'content-type': 'application/fhir+json', 'x-request-id': 'log-test-0001' },
        payload: JSON.stringify({
          resourceType: 'Patient',
          name: [{ family: 'Zebedee-Loggington' }],
          identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9990009876' }],
        }),
      });
      await app.inject({
        url: '/fhir/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9990009876',
        headers: { authorization: auth },
      });
      await app.inject({ url: '/fhir/Patient?birthdate=bad-9990009876', headers: { authorization: auth } });
      const text = lines.join('');
      assert.match(text, /log-test-0001/);
      assert.match(text, /"route":"\/fhir\/:type"/);
      assert.match(text, /"actor":"gp-a81001"/);
      assert.doesNotMatch(text, /Zebedee|9990009876|Bearer|eyJ/);
    } finally {
      await app.close();
      await ta.close();
    }
  });
});
