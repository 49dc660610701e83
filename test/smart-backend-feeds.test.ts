/**
 * SMART backend services for FHIR feeds, the SMART client in the audit trail, and CORS for browser SMART
 * apps (issue 10, ADR 0044), over HTTP (Fastify inject) on PGlite and PostgreSQL when configured:
 * - a host system linked to a fhir feed with `icr systems add … --feed` gets a `system/*.cu` token with a
 *   jose-signed client assertion, and its transaction Bundles and creates are stamped with the feed's
 *   provenance and follow the feed's status (testing: stored, not shown; suspended: refused);
 * - a read-only token, a system linked to no feed, a token whose link was withdrawn are refused (403
 *   OperationOutcome or OAuth error) and audited;
 * - every entry made under a SMART or backend services token names the client: an AuditEvent agent for
 *   the application with `who.identifier` the client_id, and the person's access report names the app;
 * - CORS: registered origins only, on /fhir, the token endpoint and the SMART configuration.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { SignJWT } from 'jose';
import { registerSystemsCommand } from '../src/cli/systems-command.ts';
import { FeedService } from '../src/records/feeds/feed-service.ts';
import { registerHostSystem } from '../src/records/sign-in/host-systems.ts';
import { registerSmartApp, setHostBackendRole } from '../src/records/sign-in/smart-apps.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { auditTestUsers } from './helpers/audit-users.ts';
import { borrowed, testDatabases } from './helpers/db.ts';
import { makeHostSystem, type TestHostSystem } from './helpers/host-system.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const ICR = 'http://127.0.0.1:8200';
const TOKEN_URL = `${ICR}/oauth/token`;
const NHS_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
const NHS = '9990000034';
const APP_ORIGIN = 'https://growth.apps.example.nhs.uk';

const bundle = (family: string, type: 'transaction' | 'batch' = 'transaction') => ({
  resourceType: 'Bundle',
  type,
  entry: [
    {
      fullUrl: 'urn:uuid:0b9c4c1e-5a53-4a7e-8f5e-2f3f0c1d7a01',
      resource: {
        resourceType: 'Patient',
        identifier: [
          { system: NHS_SYSTEM, value: NHS },
          { system: 'urn:openicr:test:community', value: `C-${family}` },
        ],
        name: [{ family, given: ['Cora'] }],
        birthDate: '1948-02-03',
      },
      request: { method: 'POST', url: 'Patient' },
    },
  ],
});

for (const which of testDatabases) {
  describe(`SMART backend services for FHIR feeds, the client in the audit, CORS (${which})`, () => {
    let t: TestApp;
    let feeds: FeedService;
    let host: TestHostSystem;
    let other: TestHostSystem;
    let out = '';

    const icr = async (...args: string[]) => {
      out = '';
      process.exitCode = undefined;
      const program = new Command().exitOverride();
      registerSystemsCommand(
        program,
        async () => borrowed(t.t.db),
        (s) => void (out += s),
      );
      try {
        await program.parseAsync(['node', 'icr', ...args]);
      } catch {
        // commander's exitOverride: the code is in process.exitCode or the error
      }
      const code = process.exitCode;
      process.exitCode = undefined;
      return { out, code };
    };

    const assertion = (system: TestHostSystem, jti: string = randomUUID()) => {
      const iat = Math.floor(Date.now() / 1000);
      return new SignJWT({ jti })
        .setProtectedHeader({ alg: 'ES256', kid: system.kid, typ: 'JWT' })
        .setIssuer(system.id)
        .setSubject(system.id)
        .setAudience(TOKEN_URL)
        .setIssuedAt(iat)
        .setExpirationTime(iat + 240)
        .sign(system.privateKey);
    };
    const tokenRequest = async (system: TestHostSystem, scope: string, headers: Record<string, string> = {}) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        payload: new URLSearchParams({
          grant_type: 'client_credentials',
          scope,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: await assertion(system),
        }).toString(),
      });
      return { status: res.statusCode, body: res.json<Json>(), headers: res.headers };
    };
    const send = (method: 'GET' | 'POST' | 'PUT', url: string, token: string, payload?: unknown) =>
      t.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
        ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
      });
    const entries = async (where: string) =>
      (
        await t.t.db.query<{
          action: string;
          outcome: string;
          actor_id: string;
          client_id: string | null;
          error_code: string | null;
          what: string;
          reason: string | null;
        }>(
          `select action, outcome, actor_id, client_id, error_code, what, reason from audit_entry where ${where} order by seq`,
        )
      ).rows;

    before(async () => {
      t = await openTestApp(
        which,
        { ICR_PUBLIC_URL: ICR, ICR_SIGNIN_RATE_LIMIT: '100000' },
        { users: auditTestUsers() },
      );
      feeds = new FeedService({ db: t.t.db });
      await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'RY448', name: 'Community Trust', kind: 'community' });
      await feeds.addOrganisation(SYSTEM_ACTOR, { ods: 'A81001', name: 'Test Surgery', kind: 'gp' });
      await feeds.addFeed(SYSTEM_ACTOR, { id: 'community-fhir', org: 'RY448', protocol: 'fhir', system: 'SystmOne' });
      await feeds.addFeed(SYSTEM_ACTOR, { id: 'community-files', org: 'RY448', protocol: 'file' });
      await feeds.addFeed(SYSTEM_ACTOR, { id: 'gp-fhir', org: 'A81001', protocol: 'fhir' });
      host = await makeHostSystem('systmone-ry448', 'RY448', ICR);
      other = await makeHostSystem('emis-a81001', 'A81001', ICR);
      await registerHostSystem(t.t.db, { id: other.id, org: other.org, jwks: other.jwksText });
      await registerSmartApp(t.t.db, {
        clientId: 'growth-chart',
        name: 'Growth chart',
        redirectUris: [`${APP_ORIGIN}/callback`],
        allowedOrigins: [APP_ORIGIN],
      });
    });
    after(async () => {
      host.close();
      other.close();
      await t.close();
    });

    it('`icr systems add … --feed` links a host system to a fhir feed of its own organisation only', async () => {
      const add = (...more: string[]) =>
        icr('systems', 'add', host.id, '--org', 'RY448', '--jwks', host.jwksFile, ...more);
      const refused = async (feed: string, why: RegExp) => {
        const { code } = await add('--feed', feed);
        assert.ok(code !== undefined && code !== 0, feed);
        const row = (JSON.parse((await icr('systems', 'list', '--json')).out) as Json[]).find((r) => r.id === host.id);
        assert.equal(row?.feed ?? null, null, `${feed}: nothing linked`);
        return why;
      };
      await refused('community-files', /file feed/);
      await refused('gp-fhir', /belongs to A81001/);
      await refused('no-such-feed', /not registered/);
      const ok = await add('--feed', 'community-fhir');
      assert.equal(ok.code, undefined, ok.out);
      const list = await icr('systems', 'list', '--json');
      const row = (JSON.parse(list.out) as Json[]).find((r) => r.id === host.id);
      assert.equal(row?.feed, 'community-fhir');
      assert.equal(row?.backendRole, null, 'writing as a feed needs no reading role');
    });

    it('the SMART configuration advertises system/*.cu; asking for system/*.cud is granted as system/*.cu', async () => {
      const conf = (await t.app.inject({ method: 'GET', url: '/fhir/.well-known/smart-configuration' })).json<Json>();
      assert.ok((conf.scopes_supported as string[]).includes('system/*.cu'));
      const res = await tokenRequest(host, 'system/*.cud');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.scope, 'system/*.cu');
      assert.equal(res.body.expires_in, 300);
    });

    it('a transaction Bundle and a create with the token are stamped with the feed, hidden while testing, shown once live', async () => {
      const tr = await tokenRequest(host, 'system/*.cu');
      const token = String(tr.body.access_token);
      const res = await send('POST', '/fhir', token, bundle('FEEDWRITER'));
      assert.equal(res.statusCode, 200, res.body);
      const created = await send('POST', '/fhir/Observation', token, {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'Weight' },
        valueQuantity: { value: 61, unit: 'kg' },
      });
      assert.equal(created.statusCode, 201, created.body);
      const rows = (
        await t.t.db.query<{ resource_type: string; id: string; feed_id: string; source_org: string }>(
          `select resource_type, id, feed_id, source_org from resource where feed_id = 'community-fhir' order by resource_type`,
        )
      ).rows;
      assert.deepEqual(
        rows.map((r) => [r.resource_type, r.feed_id, r.source_org]),
        [
          ['Observation', 'community-fhir', 'RY448'],
          ['Patient', 'community-fhir', 'RY448'],
        ],
      );
      const patientId = rows.find((r) => r.resource_type === 'Patient')?.id ?? '';
      await t.relate(patientId, 'gp-a81001');
      const gp = await t.auth('gp-a81001');
      const read = () =>
        t.app.inject({ method: 'GET', url: `/fhir/Patient/${patientId}`, headers: { authorization: gp } });
      assert.equal((await read()).statusCode, 404, 'a testing feed’s data is stored but not shown');
      await feeds.approve(SYSTEM_ACTOR, 'community-fhir', 'ie-jones');
      assert.equal((await read()).statusCode, 200, 'shown once the feed is live');
      // The writes are on the trail as the host system, naming it as the client.
      const writes = await entries(
        `action in ('bundle', 'create') and outcome = 'allowed' and actor_id = 'system:${host.id}'`,
      );
      assert.ok(writes.length >= 2, JSON.stringify(writes));
      assert.ok(writes.every((w) => w.client_id === host.id));
    });

    it('the write token only writes: reads and searches are refused with an OperationOutcome', async () => {
      const token = String((await tokenRequest(host, 'system/*.cu')).body.access_token);
      for (const [method, url] of [
        ['GET', '/fhir/Patient'],
        ['GET', '/fhir/Patient/x'],
        ['GET', '/api/feeds'],
      ] as const) {
        const res = await send(method, url, token);
        assert.equal(res.statusCode, 403, `${method} ${url}`);
        assert.equal(res.json<Json>().resourceType, 'OperationOutcome');
        assert.match(res.body, /system\/\*\.cu token may only write as its feed/);
      }
      // A user's fhirUser id cannot be taken by stored data.
      const reserved = await send('PUT', '/fhir/Practitioner/icr-user-gp-a81001', token, {
        resourceType: 'Practitioner',
        id: 'icr-user-gp-a81001',
        name: [{ text: 'Someone else' }],
      });
      assert.equal(reserved.statusCode, 400, reserved.body);
      assert.match(reserved.body, /reserved for users/);
      const refused = await entries(`action = 'authenticate' and outcome = 'refused' and client_id = '${host.id}'`);
      assert.ok(
        refused.some((e) => e.what === 'GET /fhir/Patient' && e.error_code === 'ICR_ACCESS_DENIED'),
        'audited',
      );
    });

    it('a token without a write scope is refused a write (403 OperationOutcome), and audited', async () => {
      await setHostBackendRole(t.t.db, host.id, 'R8000');
      const read = await tokenRequest(host, 'system/*.rs');
      assert.equal(read.status, 200);
      const res = await send('POST', '/fhir', String(read.body.access_token), bundle('READONLY'));
      assert.equal(res.statusCode, 403, res.body);
      assert.equal(res.json<Json>().resourceType, 'OperationOutcome');
      const refused = await entries(
        `outcome = 'refused' and client_id = '${host.id}' and action <> 'authenticate' and error_code = 'ICR_ACCESS_DENIED'`,
      );
      assert.equal(refused.length, 1, 'the refused write is audited, naming the client');
      const both = await tokenRequest(host, 'system/*.rs system/*.cu');
      assert.equal(both.status, 400);
      assert.equal(both.body.error, 'invalid_scope', 'reading and writing need separate tokens');
    });

    it('a system linked to no feed gets no write token; the refusal is audited', async () => {
      const res = await tokenRequest(other, 'system/*.cu');
      assert.equal(res.status, 400);
      assert.equal(res.body.error, 'invalid_scope');
      assert.match(String(res.body.error_description), /sends no FHIR feed/);
      const refused = await entries(
        `action = 'smart-token' and outcome = 'refused' and actor_id = 'system:${other.id}'`,
      );
      assert.equal(refused.at(-1)?.reason, 'no-feed');
      assert.equal(refused.at(-1)?.client_id, other.id);
    });

    it('a suspended feed is refused with the reason, and a withdrawn link ends the token’s writes', async () => {
      const token = String((await tokenRequest(host, 'system/*.cu')).body.access_token);
      await feeds.suspend(SYSTEM_ACTOR, 'community-fhir', 'duplicates under investigation');
      const res = await send('POST', '/fhir', token, bundle('SUSPENDED', 'batch'));
      assert.equal(res.statusCode, 403);
      assert.equal(res.json<Json>().resourceType, 'OperationOutcome');
      assert.match(res.body, /Feed community-fhir is suspended: duplicates under investigation/);
      const again = await tokenRequest(host, 'system/*.cu');
      assert.equal(again.status, 400);
      assert.equal(again.body.error, 'unauthorized_client');
      const stored = await t.t.db.query<{ n: number }>(
        `select count(*)::int as n from resource where content like '%SUSPENDED%'`,
      );
      assert.equal(stored.rows[0]?.n, 0, 'nothing stored');
      const refused = await entries(`action = 'authenticate' and outcome = 'refused' and what = 'POST /fhir'`);
      assert.ok(
        refused.some((e) => e.client_id === host.id),
        'the refusal is audited',
      );
      // Unlinking: the still-valid token may no longer write even as the feed goes live again.
      await feeds.approve(SYSTEM_ACTOR, 'community-fhir', 'ie-jones');
      assert.equal(
        (await icr('systems', 'add', host.id, '--org', 'RY448', '--jwks', host.jwksFile, '--feed', 'none')).code,
        undefined,
      );
      const unlinked = await send('POST', '/fhir', token, bundle('UNLINKED'));
      assert.equal(unlinked.statusCode, 403);
      assert.match(unlinked.body, /no longer sends feed community-fhir/);
    });

    it('every entry under a SMART app token names the app: BALP AuditEvent agent and the access report', async () => {
      const patientId =
        (
          await t.t.db.query<{ id: string }>(
            `select id from resource where resource_type = 'Patient' and content like '%FEEDWRITER%'`,
          )
        ).rows[0]?.id ?? '';
      // The token the authorization server issues to the app (src/records/sign-in/smart-service.ts).
      const appToken = await t.tokens.issue(
        { id: 'gp-a81001', name: 'Dr Asha Demo-Patel', org: 'A81001', role: 'R8000' },
        { ttlSeconds: 600, smart: { scope: 'user/*.rs', clientId: 'growth-chart' } },
      );
      assert.equal((await send('GET', `/fhir/Patient/${patientId}`, appToken)).statusCode, 200);
      const po = `Bearer ${await t.tokens.issue({ id: 'po-1', name: 'Priya Officer', org: 'ICR01', role: 'R0001' })}`;
      const res = await t.app.inject({
        method: 'GET',
        url: `/fhir/AuditEvent?agent=gp-a81001&patient=Patient/${patientId}&action=R`,
        headers: { authorization: po },
      });
      assert.equal(res.statusCode, 200, res.body);
      const events = (res.json<Json>().entry as Json[]).map((e) => e.resource as Json);
      const viaApp = events.find((e) => (e.agent as Json[]).some((a) => a.who?.identifier?.value === 'growth-chart'));
      assert.ok(viaApp, JSON.stringify(events.map((e) => e.agent)));
      const agents = viaApp.agent as Json[];
      const app = agents.find((a) => a.who?.identifier?.value === 'growth-chart');
      assert.equal(app?.type?.coding?.[0]?.code, '110150', 'BALP: the application agent');
      assert.equal(app?.who?.identifier?.system, 'https://openicr.org/Id/smart-client');
      assert.equal(app?.requestor, false);
      const user = agents.find((a) => a.requestor === true);
      assert.equal(user?.who?.identifier?.value, 'gp-a81001', 'alongside the user');
      // The backend services writes name the host system the same way.
      const sys = await t.app.inject({
        method: 'GET',
        url: `/fhir/AuditEvent?agent=system:${host.id}&action=E`,
        headers: { authorization: po },
      });
      assert.equal(sys.statusCode, 200, sys.body);
      assert.ok(
        (sys.json<Json>().entry as Json[]).some((e) =>
          (e.resource.agent as Json[]).some((a) => a.who?.identifier?.value === host.id && a.requestor === false),
        ),
      );
      // The person's access report says which app the professional used.
      const report = await t.app.inject({
        method: 'GET',
        url: `/api/audit/report?nhs-number=${NHS}`,
        headers: { authorization: po },
      });
      assert.equal(report.statusCode, 200, report.body);
      assert.match(report.body, /Dr Asha Demo-Patel, using the app Growth chart<\/td>/);
      assert.match(report.body, /Dr Asha Demo-Patel<\/td>/, 'the same user’s own reads stay unqualified');
    });

    it('CORS: registered origins get CORS on /fhir, the token endpoint and the SMART configuration; others none', async () => {
      const preflight = (url: string, origin: string) =>
        t.app.inject({
          method: 'OPTIONS',
          url,
          headers: {
            origin,
            'access-control-request-method': url === '/oauth/token' ? 'POST' : 'GET',
            'access-control-request-headers': 'authorization',
          },
        });
      for (const url of ['/fhir/Patient', '/oauth/token', '/fhir/.well-known/smart-configuration']) {
        const ok = await preflight(url, APP_ORIGIN);
        assert.equal(ok.statusCode, 204, `${url}: ${ok.body}`);
        assert.equal(ok.headers['access-control-allow-origin'], APP_ORIGIN);
        assert.match(String(ok.headers['access-control-allow-headers']), /authorization/);
        assert.equal(ok.headers['access-control-allow-credentials'], undefined, 'no cookies cross-origin');
        const evil = await preflight(url, 'https://evil.example.com');
        assert.notEqual(evil.statusCode, 204, url);
        assert.equal(evil.headers['access-control-allow-origin'], undefined, `${url}: no CORS for another origin`);
      }
      const conf = await t.app.inject({
        method: 'GET',
        url: '/fhir/.well-known/smart-configuration',
        headers: { origin: APP_ORIGIN },
      });
      assert.equal(conf.headers['access-control-allow-origin'], APP_ORIGIN);
      assert.match(String(conf.headers.vary), /origin/i);
      const gp = await t.auth('gp-a81001');
      const read = await t.app.inject({
        method: 'GET',
        url: '/fhir/Patient?_count=1',
        headers: { origin: APP_ORIGIN, authorization: gp },
      });
      assert.equal(read.headers['access-control-allow-origin'], APP_ORIGIN);
      assert.match(String(read.headers['access-control-expose-headers']), /location/);
      const token = await tokenRequest(other, 'system/*.rs', { origin: 'https://evil.example.com' });
      assert.equal(token.headers['access-control-allow-origin'], undefined);
      // Not on the browser pages: the sign-in page never answers CORS, even for a registered origin.
      const page = await t.app.inject({ method: 'GET', url: '/signin', headers: { origin: APP_ORIGIN } });
      assert.equal(page.headers['access-control-allow-origin'], undefined);
      // An origin must be an origin.
      await assert.rejects(
        registerSmartApp(t.t.db, {
          clientId: 'bad-origin',
          name: 'Bad',
          redirectUris: [`${APP_ORIGIN}/cb`],
          allowedOrigins: ['https://apps.example.nhs.uk/path'],
        }),
        /must be an origin/,
      );
    });
  });
}
