/**
 * OpenID Connect sign-in end to end against a real OpenID provider (the certified `oidc-provider` library,
 * running inside the test on a local port) asserting CIS2-shaped role claims: several roles, one selected.
 * The browser is played by this test: it follows the redirects, keeps each side's cookies and fills in
 * the provider's own login and consent forms.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Provider from 'oidc-provider';
import type { AuditLog, AuditRecord } from '../src/audit/audit-record.ts';
import { listUserDirectory } from '../src/auth/demo-directory.ts';
import { sessionCookie } from './helpers/host-system.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const CLIENT_ID = 'openicr-test';
const CLIENT_SECRET = 'oidc-test-client-secret-0123456789abcdef';
const PUBLIC_URL = 'http://127.0.0.1:8140';

const ROLES = [
  { person_roleid: '555254240100', org_code: 'RNS', role_code: 'S8000:G8000:R8001', role_name: 'Nurse Access Role' },
  {
    person_roleid: '555254240101',
    org_code: 'A81001',
    role_code: 'S8000:G8000:R8000',
    role_name: 'Clinical Practitioner',
  },
];
/** Accounts at the identity provider: CIS2 UIDs with their asserted roles. */
const ACCOUNTS: Record<string, Record<string, unknown>> = {
  '555000111222': { name: 'Nia Demo-Nurse', nhsid_nrbac_roles: ROLES, selected_roleid: '555254240100' },
  '555000111333': { name: 'Omar Demo-Other', nhsid_nrbac_roles: ROLES, selected_roleid: '555254240101' },
  '555000111444': { name: 'Unknown Demo', nhsid_nrbac_roles: ROLES, selected_roleid: '555254240100' },
};

describe('OpenID Connect sign-in with CIS2 role claims', () => {
  let server: Server;
  let issuer: string;
  let ta: TestApp;
  const audit: AuditRecord[] = [];
  const auditLog: AuditLog = { record: async (_db, r) => void audit.push(r) };

  before(async () => {
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          redirect_uris: [`${PUBLIC_URL}/signin/oidc/callback`],
          grant_types: ['authorization_code'],
          response_types: ['code'],
        },
      ],
      claims: {
        openid: ['sub'],
        profile: ['name'],
        nationalrbacaccess: ['nhsid_nrbac_roles'],
        selectedrole: ['selected_roleid'],
      },
      scopes: ['openid', 'profile', 'nationalrbacaccess', 'selectedrole'],
      pkce: { required: () => true },
      cookies: { keys: ['oidc-test-cookie-key-0123456789'] },
      findAccount: async (_ctx, id) => {
        const account = ACCOUNTS[id];
        return account ? { accountId: id, claims: async () => ({ sub: id, ...account }) } : undefined;
      },
    });
    const handle = provider.callback();
    server.on('request', (req, res) => void handle(req, res));
    // The users this care record knows: the nurse holds the nurse role at RNS only; Omar holds only an
    // admin role (so the GP role he selected at the provider maps to nothing).
    const users = listUserDirectory([
      { id: '555000111222', name: 'Nia Demo-Nurse', disabled: false, profiles: [{ org: 'RNS', role: 'R8001' }] },
      { id: '555000111333', name: 'Omar Demo-Other', disabled: false, profiles: [{ org: 'A81001', role: 'R8008' }] },
    ]);
    ta = await openTestApp(
      'pglite',
      {
        ICR_PUBLIC_URL: PUBLIC_URL,
        ICR_OIDC_ISSUER: issuer,
        ICR_OIDC_CLIENT_ID: CLIENT_ID,
        ICR_OIDC_CLIENT_SECRET: CLIENT_SECRET,
      },
      { users, audit: auditLog },
    );
  });
  after(async () => {
    await ta.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Plays the browser: our server (inject) → the provider (fetch, its forms) → our callback. */
  async function signIn(login: string) {
    const start = await ta.app.inject({ url: '/signin/oidc' });
    assert.equal(start.statusCode, 303);
    const ours = sessionCookie(start);
    const authUrl = new URL(String(start.headers.location));
    assert.equal(authUrl.origin, issuer);
    assert.equal(authUrl.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(authUrl.searchParams.get('code_challenge'));
    assert.ok(authUrl.searchParams.get('state'));
    assert.ok(authUrl.searchParams.get('nonce'));

    const jar = new Map<string, string>();
    const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let url = authUrl.href;
    let body: string | undefined;
    for (let step = 0; step < 20; step++) {
      if (url.startsWith(PUBLIC_URL)) break;
      const res = await fetch(url, {
        method: body === undefined ? 'GET' : 'POST',
        redirect: 'manual',
        headers: {
          cookie: cookieHeader(),
          ...(body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        },
        ...(body === undefined ? {} : { body }),
      });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const eq = pair?.indexOf('=') ?? -1;
        if (pair && eq > 0) jar.set(pair.slice(0, eq), pair.slice(eq + 1));
      }
      body = undefined;
      if (res.status >= 300 && res.status < 400) {
        url = new URL(res.headers.get('location') ?? '', url).href;
        continue;
      }
      const page = await res.text();
      const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1];
      const prompt = /name="prompt" value="([^"]+)"/.exec(page)?.[1];
      assert.ok(action && prompt, `the provider showed a page without a form (${res.status}): ${page.slice(0, 300)}`);
      url = new URL(action.replace(/&amp;/g, '&'), url).href;
      body = prompt === 'login' ? `prompt=login&login=${login}&password=any` : `prompt=${prompt}`;
    }
    assert.ok(url.startsWith(`${PUBLIC_URL}/signin/oidc/callback?`), `ended at ${url}`);
    const callback = await ta.app.inject({ url: url.slice(PUBLIC_URL.length), cookies: ours });
    return { callback, ours, callbackPath: url.slice(PUBLIC_URL.length) };
  }

  it('a CIS2 user with several roles, one selected, signs in with that role profile', async () => {
    audit.length = 0;
    const { callback, callbackPath, ours } = await signIn('555000111222');
    assert.equal(callback.statusCode, 303, callback.body);
    assert.equal(callback.headers.location, '/');
    const cookies = sessionCookie(callback);
    assert.notEqual(cookies.icr_session, ours.icr_session, 'a fresh session id after sign-in');
    const session = (await ta.app.inject({ url: '/session', cookies })).json();
    assert.deepEqual(
      [session.userId, session.org, session.role, session.name],
      ['555000111222', 'RNS', 'R8001', 'Nia Demo-Nurse'],
    );
    assert.equal((await ta.app.inject({ url: '/fhir/Patient?_count=1', cookies })).statusCode, 200);
    const entry = audit.find((r) => r.action === 'sign-in');
    assert.equal(entry?.outcome, 'allowed');
    // The authorization code is single use: replaying the callback does not sign in again.
    const replay = await ta.app.inject({ url: callbackPath, cookies: ours });
    assert.equal(replay.statusCode, 403);
  });

  it('a user whose selected role maps to no configured profile is refused with a clear page, and audited', async () => {
    audit.length = 0;
    const { callback, ours } = await signIn('555000111333');
    assert.equal(callback.statusCode, 403);
    assert.match(callback.body, /None of the roles you selected at sign-in lets you use this shared care record/);
    const left = callback.cookies.find((c) => c.name === 'icr_session');
    const cookies = left ? { icr_session: left.value } : ours;
    assert.equal((await ta.app.inject({ url: '/session', cookies })).statusCode, 401, 'no signed-in session');
    const entry = audit.find((r) => r.action === 'sign-in');
    assert.equal(entry?.outcome, 'refused');
    assert.equal(entry.errorCode, 'ICR_SIGN_IN_REFUSED');
  });

  it('a person the care record does not know is refused', async () => {
    const { callback } = await signIn('555000111444');
    assert.equal(callback.statusCode, 403);
    assert.match(callback.body, /not a user of this shared care record/);
  });

  it('a callback that this browser did not start (no state in its session) is refused', async () => {
    const res = await ta.app.inject({ url: '/signin/oidc/callback?code=abc&state=def' });
    assert.equal(res.statusCode, 403);
    assert.match(res.body, /not started here/);
  });
});
