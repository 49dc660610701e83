/**
 * Errors raised before any route — by Node's HTTP parser (clientErrorHandler) and by the time budget —
 * are OperationOutcomes too. These need a real socket: `inject()` never runs Node's parser.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import { registerErrors, registerRequestTimeout } from '../src/http/plugins/errors.ts';
import { openPostgres } from '../src/store/pg-db.ts';
import { isIcrError } from '../src/shared/errors.ts';
import { testDatabases, testDatabaseUrl } from './helpers/db.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

interface RawAnswer {
  status: number;
  headers: string;
  body: string;
}

/** Sends raw bytes and reads the whole answer (the server closes the connection after a parser error). */
function raw(port: number, request: Buffer | string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), headers: head, body: rest.join('\r\n\r\n') });
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer')));
    socket.end(request);
  });
}

function codeOf(a: RawAnswer): string | undefined {
  const oo = JSON.parse(a.body) as {
    resourceType: string;
    issue: Array<{ details?: { coding?: Array<{ code: string }> } }>;
  };
  assert.equal(oo.resourceType, 'OperationOutcome', a.body);
  assert.match(a.headers, /content-type: application\/fhir\+json/i);
  return oo.issue[0]?.details?.coding?.[0]?.code;
}

// Answered before any route, so never by the database; run on both all the same (issue 14 asks for both).
for (const kind of testDatabases) {
  describe(`HTTP parser errors are OperationOutcomes (${kind})`, () => {
    let ta: TestApp;
    let port: number;
    before(async () => {
      ta = await openTestApp(kind);
      await ta.app.listen({ host: '127.0.0.1', port: 0 });
      const address = ta.app.server.address();
      assert.ok(address !== null && typeof address === 'object');
      port = address.port;
    });
    after(async () => {
      await ta.close();
    });

    it('a query string over 16 KB is 431 ICR_HEADERS_TOO_LARGE', async () => {
      const a = await raw(port, `GET /fhir/Patient?family=${'a'.repeat(17_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.equal(a.status, 431);
      assert.equal(codeOf(a), 'ICR_HEADERS_TOO_LARGE');
    });

    it('a URL over the limit but under 16 KB is 414 ICR_URI_TOO_LONG', async () => {
      const a = await raw(
        port,
        `GET /fhir/Patient?family=${'a'.repeat(9_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(a.status, 414);
      assert.equal(codeOf(a), 'ICR_URI_TOO_LONG');
    });

    it('a raw non-ASCII byte in the request line is 400 ICR_BAD_REQUEST', async () => {
      const a = await raw(
        port,
        Buffer.concat([
          Buffer.from('GET /fhir/Patient?family=a'),
          Buffer.from([0xff, 0x00]),
          Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n'),
        ]),
      );
      assert.equal(a.status, 400);
      assert.equal(codeOf(a), 'ICR_BAD_REQUEST');
    });

    it('bad chunking is 400 ICR_BAD_REQUEST', async () => {
      const a = await raw(
        port,
        'POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Type: application/fhir+json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
      );
      assert.equal(a.status, 400);
      assert.equal(codeOf(a), 'ICR_BAD_REQUEST');
    });

    it('a header line without a colon, and a bare LF request, are 400 OperationOutcomes', async () => {
      for (const req of ['GET /fhir/Patient HTTP/1.1\r\nHost x\r\n\r\n', 'GET /fhir/metadata HTTP/9.9\r\n\r\n']) {
        const a = await raw(port, req);
        assert.equal(a.status, 400, req);
        assert.equal(codeOf(a), 'ICR_BAD_REQUEST');
      }
    });

    it('the server keeps answering afterwards', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(res.status, 200);
    });
  });
}

describe('time budgets', () => {
  it('a FHIR request not answered within its budget is 503 ICR_REQUEST_TIMEOUT', async () => {
    const app = Fastify();
    registerErrors(app);
    registerRequestTimeout(app, 100);
    app.get('/fhir/slow', async (_req, reply) => {
      await new Promise((r) => setTimeout(r, 400));
      return reply.send('late');
    });
    app.get('/fhir/fast', async () => 'ok');
    try {
      const slow = await app.inject({ url: '/fhir/slow' });
      assert.equal(slow.statusCode, 503);
      assert.equal(slow.json().issue[0].details.coding[0].code, 'ICR_REQUEST_TIMEOUT');
      const fast = await app.inject({ url: '/fhir/fast' });
      assert.equal(fast.statusCode, 200);
      await new Promise((r) => setTimeout(r, 400)); // the slow handler finishes without crashing anything
    } finally {
      await app.close();
    }
  });

  it('PostgreSQL cuts a statement at ICR_STATEMENT_TIMEOUT_MS: ICR_REQUEST_TIMEOUT', async (t) => {
    if (!testDatabaseUrl) {
      t.skip('ICR_TEST_DATABASE_URL is not set (PGlite cannot interrupt a statement)');
      return;
    }
    const db = await openPostgres({ connectionString: testDatabaseUrl, max: 1, statementTimeoutMs: 200 });
    try {
      await assert.rejects(
        db.query('select pg_sleep(2)'),
        (e: unknown) => isIcrError(e) && e.code === 'ICR_REQUEST_TIMEOUT',
      );
      const ok = await db.query<{ one: number }>('select 1 as one');
      assert.equal(ok.rows[0]?.one, 1);
    } finally {
      await db.close();
    }
  });
});
