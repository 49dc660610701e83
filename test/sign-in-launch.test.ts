/**
 * Context launch end to end (DESIGN.md §4): a registered host system signs a launch token; a valid one
 * opens a browser session for that user and role and redirects to the person; tampered, expired,
 * replayed, wrong-audience, unknown-key and unknown-system tokens are refused with a page saying which,
 * and every launch is audited. Then the browser session itself: CSRF on state-changing requests, logout
 * that ends the session on the server, rate limits.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { generateKeyPair } from 'jose';
import type { AuditLog, AuditRecord } from '../src/audit/audit-record.ts';
import { listUserDirectory } from '../src/auth/demo-directory.ts';
import { registerHostSystem } from '../src/records/sign-in/host-systems.ts';
import { loadConfig } from '../src/config/config.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { testDatabases } from './helpers/db.ts';
import { makeHostSystem, sessionCookie, type TestHostSystem } from './helpers/host-system.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const NHS = '9990000018';

function recordingAudit(): { log: AuditLog; records: AuditRecord[] } {
  const records: AuditRecord[] = [];
  return { records, log: { record: async (_db, r) => void records.push(r) } };
}

for (const kind of testDatabases) {
  describe(`context launch (${kind})`, () => {
    let ta: TestApp;
    let host: TestHostSystem;
    let patientId: string;
    const audit = recordingAudit();

    before(async () => {
      ta = await openTestApp(kind, {}, { audit: audit.log });
      host = await makeHostSystem('emis-a81001', 'A81001', ta.config.publicUrl);
      await registerHostSystem(ta.t.db, { id: host.id, org: host.org, jwks: host.jwksText });
      const created = await ta.records.create(SYSTEM_ACTOR, {
        resourceType: 'Patient',
        identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: NHS }],
        name: [{ family: 'Launchtest', given: ['Ada'] }],
        birthDate: '1945-07-14',
      });
      patientId = created.resource.id;
    });
    after(async () => {
      host.close();
      await ta.close();
    });

    it('a valid launch opens a session for that user and role and redirects to the person', async () => {
      audit.records.length = 0;
      const token = await host.sign();
      const res = await ta.app.inject({ url: `/launch?token=${token}` });
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, `/patient/${patientId}`);
      assert.doesNotMatch(String(res.headers.location), new RegExp(NHS), 'the NHS number never appears in a URL');
      const setCookie = String(res.headers['set-cookie']);
      assert.match(setCookie, /HttpOnly/i);
      assert.match(setCookie, /SameSite=Lax/i);
      const cookies = sessionCookie(res);

      const page = await ta.app.inject({ url: `/patient/${patientId}`, cookies });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /LAUNCHTEST/);
      assert.match(page.body, /999 000 0018/);
      const session = (await ta.app.inject({ url: '/session', cookies })).json();
      assert.equal(session.userId, 'gp-a81001');
      assert.equal(session.org, 'A81001');
      assert.equal(session.role, 'R8000');
      assert.equal(session.patientId, patientId);
      const fhir = await ta.app.inject({ url: `/fhir/Patient/${patientId}`, cookies });
      assert.equal(fhir.statusCode, 200);

      const entry = audit.records.find((r) => r.action === 'launch');
      assert.ok(entry);
      assert.equal(entry.outcome, 'allowed');
      assert.equal(entry.patientId, patientId);
      assert.deepEqual(
        entry.actor.kind === 'user' && [
          entry.actor.userId,
          entry.actor.orgOds,
          entry.actor.role,
          entry.actor.via?.channel,
        ],
        ['gp-a81001', 'A81001', 'R8000', 'launch'],
      );
    });

    it('tampered, expired, replayed, wrong-audience, unknown-key, unknown-system and long-lived tokens are refused, saying which, and audited', async () => {
      const other = await generateKeyPair('ES256');
      const valid = await host.sign();
      const [h, p] = valid.split('.');
      const payload = JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) as Record<string, unknown>;
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, patient_nhs_number: '9990000026' })).toString('base64url')}.${valid.split('.')[2]}`;
      const stranger = await makeHostSystem('not-registered', 'A81001', ta.config.publicUrl);
      const cases: Array<[string, string]> = [
        ['tampered', tampered],
        ['expired', await host.sign({}, { iatOffset: -600, lifetime: 120 })],
        [
          'wrong-audience',
          await (
            await makeHostSystem(host.id, host.org, 'https://elsewhere.example')
          ).sign({}, { key: host.privateKey }),
        ],
        ['unknown-key', await host.sign({}, { key: other.privateKey, kid: 'rogue-key' })],
        ['unknown-system', await stranger.sign()],
        ['too-long-lived', await host.sign({}, { lifetime: 3600 })],
        ['wrong-organisation', await host.sign({ org: 'RNS' })],
        ['no-role-profile', await host.sign({ role: 'R8008' })],
        ['unknown-user', await host.sign({ sub: 'nobody-here' })],
        ['malformed', 'not-a-token'],
      ];
      stranger.close();
      for (const [reason, token] of cases) {
        audit.records.length = 0;
        const res = await ta.app.inject({ url: `/launch?token=${encodeURIComponent(token)}` });
        assert.equal(res.statusCode, 401, reason);
        assert.match(String(res.headers['content-type']), /text\/html/);
        assert.match(res.body, new RegExp(`<code>${reason}</code>`), reason);
        assert.equal(
          res.cookies.find((c) => c.name === 'icr_session'),
          undefined,
          `${reason}: no session`,
        );
        const entry = audit.records.find((r) => r.action === 'launch');
        assert.equal(entry?.outcome, 'refused', reason);
        assert.equal(entry.errorCode, 'ICR_LAUNCH_REFUSED');
        assert.equal(entry.reason, reason);
      }

      // Replay: the first use opens a session, the second is refused.
      const once = await host.sign();
      assert.equal((await ta.app.inject({ url: `/launch?token=${once}` })).statusCode, 303);
      const again = await ta.app.inject({ url: `/launch?token=${once}` });
      assert.equal(again.statusCode, 401);
      assert.match(again.body, /<code>replayed<\/code>/);
      assert.match(again.body, /already been used/);
    });

    it('a launch for an NHS number with no record opens the session on a page that says so', async () => {
      const res = await ta.app.inject({
        url: `/launch?token=${await host.sign({ patient_nhs_number: '9990000026' })}`,
      });
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers.location, '/patient');
      const page = await ta.app.inject({ url: '/patient', cookies: sessionCookie(res) });
      assert.match(page.body, /holds no record/);
    });

    it('a session cookie without its CSRF token cannot change anything; with it, it can', async () => {
      const res = await ta.app.inject({ url: `/launch?token=${await host.sign()}` });
      const cookies = sessionCookie(res);
      const body = { resourceType: 'Patient', name: [{ family: 'Csrf' }] };
      const without = await ta.app.inject({ method: 'POST', url: '/fhir/Patient', cookies, payload: body });
      assert.equal(without.statusCode, 403);
      assert.equal(without.json().issue[0].details.coding[0].code, 'ICR_CSRF_INVALID');
      const forged = await ta.app.inject({
        method: 'POST',
        url: '/fhir/Patient',
        cookies,
        payload: body,
        headers: { 'x-csrf-token': 'forged-token' },
      });
      assert.equal(forged.statusCode, 403);
      const { csrfToken } = (await ta.app.inject({ url: '/session', cookies })).json<{ csrfToken: string }>();
      const ok = await ta.app.inject({
        method: 'POST',
        url: '/fhir/Patient',
        cookies,
        payload: body,
        headers: { 'x-csrf-token': csrfToken },
      });
      assert.equal(ok.statusCode, 201);
      // Logout is state-changing too.
      assert.equal((await ta.app.inject({ method: 'POST', url: '/logout', cookies })).statusCode, 403);
    });

    it('after logout the session is dead on the server: the old cookie no longer works', async () => {
      const res = await ta.app.inject({ url: `/launch?token=${await host.sign()}` });
      const cookies = sessionCookie(res);
      const { csrfToken } = (await ta.app.inject({ url: '/session', cookies })).json<{ csrfToken: string }>();
      const out = await ta.app.inject({
        method: 'POST',
        url: '/logout',
        cookies,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `_csrf=${encodeURIComponent(csrfToken)}`,
      });
      assert.equal(out.statusCode, 303);
      assert.equal(out.headers.location, '/signin');
      assert.equal((await ta.app.inject({ url: '/session', cookies })).statusCode, 401);
      assert.equal((await ta.app.inject({ url: `/fhir/Patient/${patientId}`, cookies })).statusCode, 401);
      const page = await ta.app.inject({ url: `/patient/${patientId}`, cookies });
      assert.equal(page.statusCode, 303);
      assert.equal(page.headers.location, '/signin');
    });

    it('security headers: CSP with frame-ancestors for registered host systems, no HSTS without TLS', async () => {
      await registerHostSystem(ta.t.db, {
        id: 'framing-epr',
        org: 'RNS',
        jwks: host.jwksText,
        frameOrigin: 'https://epr.example.nhs.uk',
      });
      const fresh = await openTestApp(kind, {}, {});
      try {
        await registerHostSystem(fresh.t.db, {
          id: 'framing-epr',
          org: 'RNS',
          jwks: host.jwksText,
          frameOrigin: 'https://epr.example.nhs.uk',
        });
        const res = await fresh.app.inject({ url: '/signin' });
        const csp = String(res.headers['content-security-policy']);
        assert.match(csp, /frame-ancestors 'self' https:\/\/epr\.example\.nhs\.uk/);
        assert.match(csp, /default-src 'self'/);
        assert.equal(res.headers['strict-transport-security'], undefined);
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
      } finally {
        await fresh.close();
      }
    });
  });
}

describe('rate limits and HTTPS deployments', () => {
  it('launch attempts beyond the limit are refused with 429 ICR_RATE_LIMITED', async () => {
    const ta = await openTestApp('pglite', { ICR_SIGNIN_RATE_LIMIT: '3' });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push((await ta.app.inject({ url: '/launch?token=x.y.z' })).statusCode);
      assert.deepEqual(codes, [401, 401, 401, 429, 429]);
      const last = await ta.app.inject({ url: '/launch?token=x.y.z' });
      assert.equal(last.json().issue[0].details.coding[0].code, 'ICR_RATE_LIMITED');
      assert.ok(Number(last.headers['retry-after']) > 0);
      // Other routes are not limited.
      assert.equal((await ta.app.inject({ url: '/healthz' })).statusCode, 200);
    } finally {
      await ta.close();
    }
  });

  it('with an https public URL cookies are Secure and HSTS is sent', async () => {
    const ta = await openTestApp('pglite', { ICR_PUBLIC_URL: 'https://icr.example.nhs.uk', ICR_TRUST_PROXY: 'true' });
    const host = await makeHostSystem('tpp-x', 'A81001', 'https://icr.example.nhs.uk');
    try {
      await registerHostSystem(ta.t.db, { id: host.id, org: host.org, jwks: host.jwksText });
      // TLS ends at the reverse proxy, which says so.
      const res = await ta.app.inject({
        url: `/launch?token=${await host.sign()}`,
        headers: { 'x-forwarded-proto': 'https' },
      });
      assert.equal(res.statusCode, 303);
      assert.match(String(res.headers['set-cookie']), /Secure/);
      assert.match(String(res.headers['strict-transport-security']), /max-age=31536000/);
      assert.match(String(res.headers['set-cookie']), /SameSite=Lax/);
    } finally {
      host.close();
      await ta.close();
    }
  });

  it('embedded in a host system frame (ICR_SESSION_EMBEDDED=true) the cookie is SameSite=None; Secure; http refused', async () => {
    assert.throws(
      () => loadConfig({ ICR_SESSION_EMBEDDED: 'true', ICR_PUBLIC_URL: 'http://icr.example.nhs.uk' }),
      /needs an https ICR_PUBLIC_URL/,
    );
    assert.throws(() => loadConfig({ ICR_SESSION_EMBEDDED: 'yes' }), /must be true or false/);
    const env = { ICR_PUBLIC_URL: 'https://icr.example.nhs.uk', ICR_TRUST_PROXY: 'true', ICR_SESSION_EMBEDDED: 'true' };
    const ta = await openTestApp('pglite', env);
    const host = await makeHostSystem('tpp-y', 'A81001', 'https://icr.example.nhs.uk');
    try {
      await registerHostSystem(ta.t.db, {
        id: host.id,
        org: host.org,
        jwks: host.jwksText,
        frameOrigin: 'https://epr.example.nhs.uk',
      });
      const res = await ta.app.inject({
        url: `/launch?token=${await host.sign()}`,
        headers: { 'x-forwarded-proto': 'https' },
      });
      assert.equal(res.statusCode, 303);
      const cookie = String(res.headers['set-cookie']);
      assert.match(cookie, /SameSite=None/);
      assert.match(cookie, /Secure/);
      assert.match(cookie, /HttpOnly/);
      assert.match(
        String(res.headers['content-security-policy']),
        /frame-ancestors 'self' https:\/\/epr\.example\.nhs\.uk/,
      );
    } finally {
      host.close();
      await ta.close();
    }
  });
});

describe('the demo sign-in page', () => {
  it('lists the demo users; signing in needs the page’s CSRF token; brute force is rate limited', async () => {
    const ta = await openTestApp('pglite', { ICR_SIGNIN_RATE_LIMIT: '4' }, { demo: true });
    try {
      const page = await ta.app.inject({ url: '/signin' });
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /Dr Asha Demo-Patel/);
      assert.match(page.body, /R8000 at A81001/);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
      assert.ok(csrf);
      const cookies = sessionCookie(page);
      const form = { 'content-type': 'application/x-www-form-urlencoded' };

      const noToken = await ta.app.inject({
        method: 'POST',
        url: '/signin/demo',
        cookies,
        headers: form,
        payload: 'user=gp-a81001',
      });
      assert.equal(noToken.statusCode, 403);
      const unknown = await ta.app.inject({
        method: 'POST',
        url: '/signin/demo',
        cookies,
        headers: form,
        payload: `user=nobody&_csrf=${encodeURIComponent(csrf)}`,
      });
      assert.equal(unknown.statusCode, 403);
      assert.match(unknown.body, /not a user of this shared care record/);
      const ok = await ta.app.inject({
        method: 'POST',
        url: '/signin/demo',
        cookies,
        headers: form,
        payload: `user=gp-a81001&_csrf=${encodeURIComponent(csrf)}`,
      });
      assert.equal(ok.statusCode, 303);
      const signedIn = sessionCookie(ok);
      assert.notEqual(signedIn.icr_session, cookies.icr_session, 'a new session id at sign-in (no fixation)');
      assert.equal((await ta.app.inject({ url: '/session', cookies: signedIn })).json().userId, 'gp-a81001');
      assert.equal((await ta.app.inject({ url: '/session', cookies })).statusCode, 401, 'the pre-sign-in id is dead');

      // Four attempts a minute from one address (three made above); the fifth is refused before it is checked.
      const attempt = async () =>
        ta.app.inject({ method: 'POST', url: '/signin/demo', cookies, headers: form, payload: 'user=x' });
      assert.equal((await attempt()).statusCode, 403);
      const next = await attempt();
      assert.equal(next.statusCode, 429);
      assert.equal(next.json().issue[0].details.coding[0].code, 'ICR_RATE_LIMITED');
    } finally {
      await ta.close();
    }
  });

  it('outside the demo there is no demo sign-in', async () => {
    const ta = await openTestApp('pglite');
    try {
      const page = await ta.app.inject({ url: '/signin' });
      assert.doesNotMatch(page.body, /Demo users/);
      const res = await ta.app.inject({
        method: 'POST',
        url: '/signin/demo',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'user=gp-a81001',
      });
      assert.equal(res.statusCode, 403, 'no session, no CSRF token: refused before anything else');
    } finally {
      await ta.close();
    }
  });
});

for (const kind of testDatabases) {
  describe(`launch in the real audit trail, and users withdrawn mid-session (${kind})`, () => {
    it('accepted and refused launches are entries of the hash-chained audit trail', async () => {
      const ta = await openTestApp(kind);
      const host = await makeHostSystem('audit-epr', 'A81001', ta.config.publicUrl);
      try {
        await registerHostSystem(ta.t.db, { id: host.id, org: host.org, jwks: host.jwksText });
        const token = await host.sign();
        assert.equal((await ta.app.inject({ url: `/launch?token=${token}` })).statusCode, 303);
        assert.equal((await ta.app.inject({ url: `/launch?token=${token}` })).statusCode, 401);
        const rows = await ta.t.db.query<{
          outcome: string;
          actor_id: string;
          org_ods: string | null;
          role: string | null;
          channel: string | null;
          reason: string | null;
          error_code: string | null;
        }>(
          `select outcome, actor_id, org_ods, role, channel, reason, error_code
             from audit_entry where action = 'launch' order by seq`,
        );
        assert.deepEqual(
          rows.rows.map((r) => [r.outcome, r.actor_id, r.org_ods, r.role, r.channel, r.reason, r.error_code]),
          [
            ['allowed', 'gp-a81001', 'A81001', 'R8000', 'launch', null, null],
            ['refused', 'gp-a81001', 'A81001', 'R8000', 'launch', 'replayed', 'ICR_LAUNCH_REFUSED'],
          ],
        );
      } finally {
        host.close();
        await ta.close();
      }
    });

    it('a user disabled mid-session loses the session and their bearer tokens', async () => {
      const nurse = {
        id: 'nurse-1',
        name: 'Nia Demo-Nurse',
        disabled: false,
        profiles: [{ org: 'A81001', role: 'R8001' }],
      };
      const ta = await openTestApp(kind, {}, { users: listUserDirectory([nurse]) });
      const host = await makeHostSystem('withdraw-epr', 'A81001', ta.config.publicUrl);
      try {
        await registerHostSystem(ta.t.db, { id: host.id, org: host.org, jwks: host.jwksText });
        const res = await ta.app.inject({ url: `/launch?token=${await host.sign({ sub: 'nurse-1', role: 'R8001' })}` });
        assert.equal(res.statusCode, 303);
        const cookies = sessionCookie(res);
        const bearer = `Bearer ${await ta.tokens.issue({ id: 'nurse-1', name: nurse.name, org: 'A81001', role: 'R8001' })}`;
        assert.equal((await ta.app.inject({ url: '/session', cookies })).statusCode, 200);
        assert.equal(
          (await ta.app.inject({ url: '/fhir/Patient?_count=1', headers: { authorization: bearer } })).statusCode,
          200,
        );
        nurse.disabled = true;
        assert.equal((await ta.app.inject({ url: '/fhir/Patient?_count=1', cookies })).statusCode, 401);
        assert.equal((await ta.app.inject({ url: '/session', cookies })).statusCode, 401);
        assert.equal(
          (await ta.app.inject({ url: '/fhir/Patient?_count=1', headers: { authorization: bearer } })).statusCode,
          401,
        );
      } finally {
        host.close();
        await ta.close();
      }
    });
  });
}

describe('a host system that publishes its keys at a URL', () => {
  it('is fetched at launch: a token signed with the published key opens a session, another key is refused', async () => {
    const ta = await openTestApp('pglite');
    const host = await makeHostSystem('remote-epr', 'A81001', ta.config.publicUrl);
    const server = createServer((req, res) => {
      if (req.url === '/.well-known/jwks.json')
        res.writeHead(200, { 'content-type': 'application/json' }).end(host.jwksText);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
      await registerHostSystem(ta.t.db, { id: host.id, org: host.org, jwksUrl: url });
      assert.equal((await ta.app.inject({ url: `/launch?token=${await host.sign()}` })).statusCode, 303);
      const rogue = await generateKeyPair('ES256');
      const refused = await ta.app.inject({
        url: `/launch?token=${await host.sign({}, { key: rogue.privateKey, kid: 'rogue' })}`,
      });
      assert.equal(refused.statusCode, 401);
      assert.match(refused.body, /<code>unknown-key<\/code>/);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      host.close();
      await ta.close();
    }
  });
});
