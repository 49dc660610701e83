/**
 * Authentication (bearer JWTs, the `icr token` command, the secret file) and the open health endpoints
 * (/healthz, /readyz, /metrics, SMART configuration).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { DEMO_USERS } from '../src/auth/demo-users.ts';
import { MemoryKeyRing } from '../src/auth/keys.ts';
import { loadOrCreateSecret, TokenService } from '../src/auth/tokens.ts';
import { buildApp } from '../src/http/app.ts';
import { testDatabases } from './helpers/db.ts';
import { openTestApp, TEST_TOKEN_SECRET, type TestApp } from './helpers/services.ts';

const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, '../src/cli/index.ts');
const GP = DEMO_USERS[0]!;

describe('bearer tokens', () => {
  it('issue and verify round trip to the actor; expired, forged and malformed tokens are refused', async () => {
    const keys = await MemoryKeyRing.create();
    const tokens = new TokenService({ keys, devSecret: TEST_TOKEN_SECRET, acceptDevTokens: true });
    for (const dev of [false, true]) {
      const actor = await tokens.verify(await tokens.issue(GP, { dev }));
      assert.deepEqual(actor, { kind: 'user', userId: GP.id, orgOds: GP.org, role: GP.role, displayName: GP.name });
    }
    const past = new TokenService({ keys, now: () => new Date(Date.now() - 9 * 3600_000) });
    await assert.rejects(tokens.verify(await past.issue(GP)), { code: 'ICR_UNAUTHENTICATED' });
    const other = new TokenService({ keys: await MemoryKeyRing.create() });
    await assert.rejects(tokens.verify(await other.issue(GP)), { code: 'ICR_UNAUTHENTICATED' });
    await assert.rejects(tokens.verify('not.a.jwt'), { code: 'ICR_UNAUTHENTICATED' });

    const noDev = new TokenService({ keys, devSecret: TEST_TOKEN_SECRET, acceptDevTokens: false });
    await assert.rejects(noDev.verify(await tokens.issue(GP, { dev: true })), { code: 'ICR_UNAUTHENTICATED' });
    assert.equal((await noDev.verify(await tokens.issue(GP))).userId, GP.id);
    assert.throws(() => new TokenService({ keys, devSecret: 'short' }), /at least 32/);
  });

  it('the generated secret is kept in <dataDir>/token-secret with mode 0600, and reused', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'icr-secret-'));
    try {
      const a = loadOrCreateSecret(path.join(dir, 'data'));
      const file = path.join(dir, 'data', 'token-secret');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(loadOrCreateSecret(path.join(dir, 'data')), a);
      assert.ok(a.length >= 32);
      rmSync(file);
      writeFileSync(file, 'x'.repeat(40), { mode: 0o644 });
      chmodSync(file, 0o644);
      assert.throws(() => loadOrCreateSecret(path.join(dir, 'data')), /readable by other users/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('`icr users add` then `icr token --user` prints a token the server accepts; unknown users, profiles not held, disabled users and disabled dev tokens are refused', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'icr-token-'));
    const env = { ...process.env, ICR_DATA_DIR: dir, ICR_TOKEN_SECRET: '', ICR_ALLOW_DEV_TOKENS: 'true' };
    const fails = (args: string[], e = env) =>
      run(process.execPath, [CLI, ...args], { env: e }).then(
        () => assert.fail(`should fail: ${args.join(' ')}`),
        (err: unknown) => err as { code: number; stderr: string },
      );
    try {
      await run(process.execPath, [CLI, 'migrate'], { env });
      const added = await run(
        process.execPath,
        [
          CLI,
          'users',
          'add',
          'ed-doctor-rns',
          '--name',
          'Dr Demo',
          '--org',
          'RNS',
          '--role',
          'R8000',
          '--org',
          'RNS',
          '--role',
          'R8001',
        ],
        { env },
      );
      assert.match(added.stdout, /ed-doctor-rns +enabled +RNS\/R8000, RNS\/R8001/);
      const { stdout } = await run(process.execPath, [CLI, 'token', '--user', 'ed-doctor-rns', '--role', 'R8001'], {
        env,
      });
      const tokens = TokenService.fromConfig(
        { dataDir: dir, tokenSecret: undefined, allowDevTokens: true, tokenMaxTtlSeconds: 8 * 3600 },
        { keys: await MemoryKeyRing.create() },
      );
      const actor = await tokens.verify(stdout.trim());
      assert.equal(actor.userId, 'ed-doctor-rns');
      assert.equal(actor.role, 'R8001');

      const badRole = await fails(['users', 'add', 'x1', '--name', 'X', '--org', 'RNS', '--role', 'R9999']);
      assert.equal(badRole.code, 2);
      assert.match(badRole.stderr, /ICR_UNKNOWN_ROLE: Unknown role "R9999"; known roles: R8000/);
      const unknown = await fails(['token', '--user', 'nobody']);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /ICR_UNKNOWN_USER: No user "nobody" is configured/);
      const notHeld = await fails(['token', '--user', 'ed-doctor-rns', '--role', 'R8008']);
      assert.match(notHeld.stderr, /holds no such profile \(holds: RNS\/R8000, RNS\/R8001\)/);
      await run(process.execPath, [CLI, 'users', 'disable', 'ed-doctor-rns'], { env });
      assert.match((await fails(['token', '--user', 'ed-doctor-rns'])).stderr, /is disabled/);
      const list = await run(process.execPath, [CLI, 'users', 'list', '--json'], { env });
      assert.equal((JSON.parse(list.stdout) as Array<{ disabled: boolean }>)[0]?.disabled, true);

      const disabled = await fails(['token', '--user', 'gp-a81001'], { ...env, ICR_ALLOW_DEV_TOKENS: 'false' });
      assert.equal(disabled.code, 2);
      assert.match(disabled.stderr, /disabled/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

for (const kind of testDatabases) {
  describe(`HTTP authentication and health (${kind})`, () => {
    let ta: TestApp;
    before(async () => {
      ta = await openTestApp(kind);
    });
    after(async () => {
      await ta.close();
    });

    it('every /fhir route needs a bearer token: 401 OperationOutcome with WWW-Authenticate', async () => {
      for (const [method, url] of [
        ['GET', '/fhir/Patient/1'],
        ['GET', '/fhir/Patient'],
        ['POST', '/fhir'],
        ['GET', '/fhir/_history'],
        ['GET', '/fhir/Patient/1/$everything'],
        ['GET', '/fhir/NotAType/1'],
      ] as const) {
        const res = await ta.app.inject({ method, url });
        assert.equal(res.statusCode, 401, `${method} ${url}`);
        assert.equal(res.headers['www-authenticate'], 'Bearer realm="openicr"');
        assert.equal(JSON.parse(res.body).issue[0].code, 'login');
      }
      const bad = await ta.app.inject({ url: '/fhir/Patient/1', headers: { authorization: 'Bearer abc.def.ghi' } });
      assert.equal(bad.statusCode, 401);
      assert.match(String(bad.headers['www-authenticate']), /error="invalid_token"/);
      const basic = await ta.app.inject({ url: '/fhir/Patient/1', headers: { authorization: 'Basic dXNlcjpwYXNz' } });
      assert.equal(basic.statusCode, 401);
    });

    it('a server token is accepted; dev tokens are refused unless allowed', async () => {
      const res = await ta.app.inject({
        url: '/fhir/Patient?_count=1',
        headers: { authorization: await ta.auth('admin-clerk') },
      });
      assert.equal(res.statusCode, 200);
      const devIssuer = new TokenService({ keys: await MemoryKeyRing.create(), devSecret: TEST_TOKEN_SECRET });
      const devToken = await devIssuer.issue(GP, { dev: true });
      // This app was built without ICR_ALLOW_DEV_TOKENS and outside the demo: a dev token is refused.
      const refused = await ta.app.inject({
        url: '/fhir/Patient?_count=1',
        headers: { authorization: `Bearer ${devToken}` },
      });
      assert.equal(refused.statusCode, 401);
      const devApp = await openTestApp(kind, { ICR_ALLOW_DEV_TOKENS: 'true' });
      try {
        const ok = await devApp.app.inject({
          url: '/fhir/Patient?_count=1',
          headers: { authorization: `Bearer ${devToken}` },
        });
        assert.equal(ok.statusCode, 200);
      } finally {
        await devApp.close();
      }
    });

    it('metadata and SMART configuration are open; the SMART document names the authorization server', async () => {
      assert.equal((await ta.app.inject({ url: '/fhir/metadata' })).statusCode, 200);
      const smart = await ta.app.inject({ url: '/fhir/.well-known/smart-configuration' });
      assert.equal(smart.statusCode, 200);
      const doc = smart.json();
      assert.ok(doc.capabilities.includes('launch-ehr'));
      assert.deepEqual(doc.code_challenge_methods_supported, ['S256']);
      assert.equal(doc.authorization_endpoint, `${ta.config.publicUrl}/oauth/authorize`);
      assert.equal(doc.token_endpoint, `${ta.config.publicUrl}/oauth/token`);
      assert.equal(doc.jwks_uri, `${ta.config.publicUrl}/.well-known/jwks.json`);
    });

    it('/healthz and /readyz answer without a token; /readyz is 503 when migrations are missing', async () => {
      const h = await ta.app.inject({ url: '/healthz' });
      assert.equal(h.statusCode, 200);
      assert.deepEqual(h.json(), { status: 'ok' });
      const r = await ta.app.inject({ url: '/readyz' });
      assert.equal(r.statusCode, 200);
      assert.deepEqual(r.json(), { status: 'ready', database: true, migrations: true });

      const behind = buildApp({
        records: ta.records,
        db: ta.t.db,
        config: ta.config,
        tokens: ta.tokens,
        migrationsUpToDate: async () => false,
      });
      const broken = buildApp({
        records: ta.records,
        db: { ...ta.t.db, query: async () => Promise.reject(new Error('connection refused')) } as typeof ta.t.db,
        config: ta.config,
        tokens: ta.tokens,
        migrationsUpToDate: async () => true,
      });
      try {
        const rb = await behind.inject({ url: '/readyz' });
        assert.equal(rb.statusCode, 503);
        assert.deepEqual(rb.json(), { status: 'unavailable', database: true, migrations: false });
        const rd = await broken.inject({ url: '/readyz' });
        assert.equal(rd.statusCode, 503);
        assert.equal(rd.json().database, false);
        assert.doesNotMatch(rd.body, /connection refused/);
      } finally {
        await behind.close();
        await broken.close();
      }
    });

    it('/metrics is Prometheus text with requests by route and status, and resources written', async () => {
      const auth = await ta.auth();
      await ta.app.inject({
        method: 'POST',
        url: '/fhir/Patient',
        headers: { authorization: auth, 'content-type': 'application/fhir+json' },
        payload: '{"resourceType":"Patient"}',
      });
      await ta.app.inject({ url: '/fhir/Patient/metrics-missing', headers: { authorization: auth } });
      const res = await ta.app.inject({ url: '/metrics' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/plain/);
      assert.match(res.body, /icr_http_requests_total\{method="POST",route="\/fhir\/:type",status="201"\} 1/);
      assert.match(res.body, /icr_http_requests_total\{method="GET",route="\/fhir\/:type\/:id",status="404"\} 1/);
      assert.match(
        res.body,
        /icr_http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/fhir\/:type",status="201"\}/,
      );
      assert.match(res.body, /icr_resources_written_total\{resource_type="Patient",outcome="created"\} 1/);
      assert.doesNotMatch(res.body, /metrics-missing/, 'labels carry route templates, never URLs');
    });
  });
}
