/**
 * SMART App Launch 2 and SMART backend services end to end, over real sockets, with the real SMART client
 * library `fhirclient` (its node entry, driving `authorize` and `ready` inside a small app server): EHR
 * launch from a host system's context launch, standalone launch with the patient picker, a patient-scoped
 * token that cannot read another person, refresh token rotation (reuse revokes the family), PKCE required
 * (missing and `plain` refused), code reuse and wrong verifier refused, unregistered redirect URI refused
 * without redirecting, and backend services with a jose-signed client assertion (replay refused and
 * audited). Attacks: alg none, algorithm confusion (HS256 keyed with the public key), wrong audience,
 * expired, too long lived. See docs/sign-in.md "SMART App Launch".
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import smart from 'fhirclient/lib/entry/node.js';
import {
  createLocalJWKSet,
  decodeJwt,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
} from 'jose';
import type { AuditLog, AuditRecord } from '../src/audit/audit-record.ts';
import { s256 } from '../src/auth/smart-rules.ts';
import type { FhirResource } from '../src/fhir/types.ts';
import { registerHostSystem } from '../src/records/sign-in/host-systems.ts';
import { registerSmartApp, setHostBackendRole } from '../src/records/sign-in/smart-apps.ts';
import { SYSTEM_ACTOR } from '../src/shared/actor.ts';
import { testDatabases } from './helpers/db.ts';
import { makeHostSystem, type TestHostSystem } from './helpers/host-system.ts';
import { openTestApp, type TestApp } from './helpers/services.ts';

const PORT = 8110;
const ICR = `http://127.0.0.1:${PORT}`;
const FHIR = `${ICR}/fhir`;
const TOKEN_URL = `${ICR}/oauth/token`;
const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';
const NHS_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
const NHS_A = '9990000018';
const NHS_B = '9990000026';

type Client = Awaited<ReturnType<ReturnType<typeof smart>['ready']>>;

/** A browser: follows nothing by itself, keeps the record's session cookie. */
class Browser {
  cookie = '';
  async go(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (url.startsWith(ICR) && this.cookie !== '') headers.set('cookie', this.cookie);
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    const set = res.headers.getSetCookie().find((c) => c.startsWith('icr_session='));
    if (set && url.startsWith(ICR)) this.cookie = set.split(';')[0] ?? '';
    return res;
  }
  async form(url: string, fields: Record<string, string>): Promise<Response> {
    return this.go(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }
  async csrf(): Promise<string> {
    return ((await (await this.go(`${ICR}/session`)).json()) as { csrfToken: string }).csrfToken;
  }
}

const location = (res: Response): string => {
  const l = res.headers.get('location');
  assert.ok(l, `expected a redirect, got ${res.status}`);
  return new URL(l, ICR).href;
};

async function tokenRequest(
  fields: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(TOKEN_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

for (const kind of testDatabases) {
  describe(`SMART App Launch and backend services with fhirclient (${kind})`, () => {
    let ta: TestApp;
    let host: TestHostSystem;
    let appServer: Server;
    let appBase = '';
    const audit: AuditRecord[] = [];
    const log: AuditLog = { record: async (_db, r) => void audit.push(r) };
    /** fhirclient's server-side storage (one user of the app in these tests). */
    const store = new Map<string, unknown>();
    const storage = {
      get: async (k: string) => store.get(k),
      set: async (k: string, v: unknown) => (store.set(k, v), v),
      unset: async (k: string) => store.delete(k),
    };
    let lastClient: Client | undefined;
    let appOptions: Record<string, unknown> = {};
    let publicA = '';
    let publicB = '';

    before(async () => {
      appServer = createServer((req, res) => {
        const url = new URL(req.url ?? '/', appBase);
        const env = smart(req, res, storage);
        const run = async () => {
          if (url.pathname === '/launch') {
            await env.authorize({
              clientId: 'test-app',
              scope: 'launch patient/*.rs openid fhirUser',
              redirectUri: '/callback',
              ...appOptions,
            });
          } else if (url.pathname === '/standalone') {
            await env.authorize({
              iss: FHIR,
              clientId: 'test-app',
              scope: 'launch/patient patient/*.rs openid fhirUser offline_access',
              redirectUri: '/callback',
              ...appOptions,
            });
          } else if (url.pathname === '/callback') {
            lastClient = await env.ready();
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ patient: lastClient.patient.id }));
          } else {
            res.writeHead(404);
            res.end();
          }
        };
        run().catch((err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(err));
        });
      });
      await new Promise<void>((r) => appServer.listen(0, '127.0.0.1', r));
      appBase = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}`;

      ta = await openTestApp(kind, { ICR_PUBLIC_URL: ICR, ICR_SIGNIN_RATE_LIMIT: '100000' }, { audit: log });
      await ta.app.listen({ port: PORT, host: '127.0.0.1' });
      host = await makeHostSystem('emis-a81001', 'A81001', ICR);
      await registerHostSystem(ta.t.db, { id: host.id, org: host.org, jwks: host.jwksText });
      await registerSmartApp(ta.t.db, {
        clientId: 'test-app',
        name: 'Test SMART app',
        redirectUris: [`${appBase}/callback`],
        launchUri: `${appBase}/launch`,
      });
      // Both people are registered at the GP's practice: the GP may read either with their own access.
      const r = (resource: Record<string, unknown>) => ({
        resource: resource as FhirResource & { id: string },
        provenance: { feedId: 'test', sourceOrg: 'A81001' },
      });
      const written = await ta.records.putMany(SYSTEM_ACTOR, [
        r({ resourceType: 'Organization', id: 'org-gp', identifier: [{ system: ODS, value: 'A81001' }] }),
        r({
          resourceType: 'Patient',
          id: 'pat-a',
          identifier: [{ system: NHS_SYSTEM, value: NHS_A }],
          name: [{ family: 'Smartone', given: ['Ada'] }],
          generalPractitioner: [{ reference: 'Organization/org-gp' }],
        }),
        r({
          resourceType: 'Patient',
          id: 'pat-b',
          identifier: [{ system: NHS_SYSTEM, value: NHS_B }],
          name: [{ family: 'Smarttwo', given: ['Bea'] }],
          generalPractitioner: [{ reference: 'Organization/org-gp' }],
        }),
        r({
          resourceType: 'Observation',
          id: 'obs-b',
          status: 'final',
          code: { text: 'HbA1c' },
          subject: { reference: 'Patient/pat-b' },
        }),
      ]);
      assert.deepEqual(
        written.filter((w) => 'error' in w),
        [],
      );
      publicA = 'pat-a';
      publicB = 'pat-b';
    });
    after(async () => {
      host.close();
      await ta.close();
      appServer.closeAllConnections();
      await new Promise<void>((r) => appServer.close(() => r()));
    });

    /** A browser with a session opened by the host system's context launch (for person A). */
    async function launchedBrowser(): Promise<Browser> {
      const b = new Browser();
      const res = await b.go(`${ICR}/launch?token=${await host.sign({ patient_nhs_number: NHS_A })}`);
      assert.equal(res.status, 303);
      return b;
    }

    it('the SMART configuration advertises exactly the endpoints, grants, scopes and methods that work', async () => {
      const res = await fetch(`${FHIR}/.well-known/smart-configuration`);
      assert.equal(res.status, 200);
      const c = (await res.json()) as Record<string, unknown>;
      assert.equal(c.authorization_endpoint, `${ICR}/oauth/authorize`);
      assert.equal(c.token_endpoint, TOKEN_URL);
      assert.deepEqual(c.code_challenge_methods_supported, ['S256']);
      assert.deepEqual(c.grant_types_supported, ['authorization_code', 'refresh_token', 'client_credentials']);
      assert.deepEqual(c.token_endpoint_auth_methods_supported, ['none', 'private_key_jwt']);
      assert.ok((c.scopes_supported as string[]).includes('patient/*.rs'));
      assert.ok((c.scopes_supported as string[]).includes('system/*.rs'));
      assert.ok((c.scopes_supported as string[]).includes('system/*.cu'), 'a host system sending a FHIR feed writes');
      assert.ok(!(c.scopes_supported as string[]).includes('system/*.cud'), 'delete is not offered');
      assert.ok(!(c.scopes_supported as string[]).includes('patient/*.cruds'), 'no write scope is offered');
      assert.ok((c.capabilities as string[]).includes('launch-ehr'));
      assert.ok((c.capabilities as string[]).includes('launch-standalone'));
    });

    it('EHR launch: the host system opens the record, the user launches the app, fhirclient reads that person and only that person', async () => {
      audit.length = 0;
      const b = await launchedBrowser();
      const launch = await b.form(`${ICR}/smart/launch`, { client_id: 'test-app', _csrf: await b.csrf() });
      assert.equal(launch.status, 303);
      const appLaunch = new URL(location(launch));
      assert.equal(appLaunch.origin + appLaunch.pathname, `${appBase}/launch`);
      assert.equal(appLaunch.searchParams.get('iss'), FHIR);
      const launchId = appLaunch.searchParams.get('launch') ?? '';
      assert.match(launchId, /^[A-Za-z0-9_-]{40,}$/);
      assert.ok(!appLaunch.href.includes(NHS_A) && !appLaunch.href.includes(publicA), 'the launch id is opaque');

      // fhirclient reads the SMART configuration and sends the browser to the authorize endpoint.
      const toAuthorize = await b.go(appLaunch.href);
      assert.equal(toAuthorize.status, 302);
      const authorizeUrl = new URL(location(toAuthorize));
      assert.equal(authorizeUrl.origin + authorizeUrl.pathname, `${ICR}/oauth/authorize`);
      assert.equal(authorizeUrl.searchParams.get('code_challenge_method'), 'S256');
      assert.equal(authorizeUrl.searchParams.get('launch'), launchId);

      const toApp = await b.go(authorizeUrl.href);
      assert.equal(toApp.status, 302);
      const callback = await b.go(location(toApp));
      assert.equal(callback.status, 200, await callback.clone().text());
      assert.deepEqual(await callback.json(), { patient: publicA });

      const client = lastClient;
      assert.ok(client);
      const patient = await client.request<{ name: Array<{ family: string }> }>(`Patient/${publicA}`);
      assert.equal(patient.name[0]?.family, 'Smartone');
      const claims = decodeJwt(String(client.state.tokenResponse?.access_token));
      assert.equal(claims.patient, publicA);
      assert.equal(claims.client_id, 'test-app');
      assert.equal(claims.sub, 'gp-a81001');
      assert.equal(claims.role, 'R8000');
      assert.equal(client.state.tokenResponse?.refresh_token, undefined, 'no refresh token without offline_access');

      // The same user reads person B with their own access; the patient-scoped token cannot.
      const own = await fetch(`${FHIR}/Patient/${publicB}`, { headers: { authorization: await ta.auth() } });
      assert.equal(own.status, 200);
      const ownObs = await fetch(`${FHIR}/Observation/obs-b`, { headers: { authorization: await ta.auth() } });
      assert.equal(ownObs.status, 200);
      const bearer = { authorization: `Bearer ${String(client.state.tokenResponse?.access_token)}` };
      await assert.rejects(client.request(`Patient/${publicB}`), (e: { statusCode?: number }) => e.statusCode === 404);
      assert.equal((await fetch(`${FHIR}/Observation/obs-b`, { headers: bearer })).status, 404);
      for (const q of [
        `Observation?patient=${publicB}`,
        `Patient?_id=${publicB}`,
        'Patient?name=Smarttwo',
        'Patient',
      ]) {
        const res = await fetch(`${FHIR}/${q}`, { headers: bearer });
        const body = (await res.json()) as { resourceType: string; entry?: Array<{ resource: { id: string } }> };
        assert.ok(res.status === 200 || res.status === 403, `${q}: ${res.status}`);
        if (res.status === 200) {
          // Reference data (the practice) may be found; no resource of person B.
          const ids = (body.entry ?? []).map((e) => e.resource.id);
          assert.ok(
            !ids.includes(publicB) && !ids.includes('obs-b'),
            `${q} shows nothing of person B: ${ids.join(',')}`,
          );
        }
      }
      const everything = await fetch(`${FHIR}/Patient/${publicB}/$everything`, { headers: bearer });
      assert.equal(everything.status, 404);
      // Read only: a write is refused, whatever the user's role may do.
      const write = await fetch(`${FHIR}/Patient`, {
        method: 'POST',
        headers: { ...bearer, 'content-type': 'application/fhir+json' },
        body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Sneaky' }] }),
      });
      assert.equal(write.status, 403);

      // Each step is on the audit trail.
      const actions = audit.map((a) => `${a.action}:${a.outcome}`);
      for (const step of ['launch:allowed', 'smart-launch:allowed', 'smart-authorize:allowed', 'smart-token:allowed']) {
        assert.ok(actions.includes(step), `${step} in ${actions.join(', ')}`);
      }
      assert.ok(
        audit.some((a) => a.action === 'create' && a.outcome === 'refused' && a.errorCode === 'ICR_ACCESS_DENIED'),
      );

      // The launch id is single use.
      const again = await b.go(authorizeUrl.href);
      assert.equal(again.status, 302);
      assert.equal(new URL(location(again)).searchParams.get('error'), 'invalid_request');
      assert.ok(audit.some((a) => a.action === 'smart-authorize' && a.reason === 'bad-launch'));
    });

    it('standalone launch: the user picks the person; id_token verifies; refresh rotates and a reused refresh token revokes the family', async () => {
      const b = await launchedBrowser();
      const toAuthorize = await b.go(`${appBase}/standalone`);
      assert.equal(toAuthorize.status, 302);
      const picker = await b.go(location(toAuthorize));
      assert.equal(picker.status, 200);
      const page = await picker.text();
      assert.match(page, /Test SMART app/);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
      // An NHS number with no record: the picker says so and nothing is issued.
      const none = await b.form(`${ICR}/oauth/authorize/patient`, { _csrf: csrf, nhs_number: '9990000034' });
      assert.equal(none.status, 404);
      const chosen = await b.form(`${ICR}/oauth/authorize/patient`, { _csrf: csrf, nhs_number: NHS_B });
      assert.equal(chosen.status, 303);
      const callback = await b.go(location(chosen));
      assert.equal(callback.status, 200, await callback.clone().text());
      assert.deepEqual(await callback.json(), { patient: publicB });
      const client = lastClient;
      assert.ok(client);
      const obs = await client.request<{ id: string }>('Observation/obs-b');
      assert.equal(obs.id, 'obs-b');
      await assert.rejects(client.request(`Patient/${publicA}`), (e: { statusCode?: number }) => e.statusCode === 404);

      // The ID token is signed with the server's published keys, for this app.
      const jwks = createLocalJWKSet((await (await fetch(`${ICR}/.well-known/jwks.json`)).json()) as { keys: JWK[] });
      const idToken = String(client.state.tokenResponse?.id_token);
      const { payload } = await jwtVerify(idToken, jwks, { issuer: FHIR, audience: 'test-app', algorithms: ['ES256'] });
      assert.equal(payload.sub, 'gp-a81001');
      // fhirUser resolves: the user's Practitioner, synthesised from the user directory, read by fhirclient.
      assert.equal(payload.fhirUser, `${FHIR}/Practitioner/icr-user-gp-a81001`);
      assert.equal(client.user.fhirUser, 'Practitioner/icr-user-gp-a81001');
      const me = (await client.user.read()) as unknown as {
        resourceType: string;
        identifier: Array<{ system: string; value: string }>;
        name: Array<{ text: string }>;
      };
      assert.equal(me.resourceType, 'Practitioner');
      assert.deepEqual(me.identifier, [{ system: 'https://openicr.org/Id/user', value: 'gp-a81001' }]);
      assert.equal(me.name[0]?.text, 'Dr Asha Demo-Patel');
      assert.ok(
        audit.some(
          (a) =>
            a.action === 'read' &&
            a.what === 'Practitioner/icr-user-gp-a81001' &&
            a.actor.kind === 'user' &&
            a.actor.limits?.clientId === 'test-app',
        ),
        'the read is audited under the app',
      );

      // Refresh with rotation (fhirclient's own refresh).
      const first = String(client.state.tokenResponse?.refresh_token);
      assert.match(first, /^[A-Za-z0-9_-]{40,}$/);
      await client.refresh();
      const second = String(client.state.tokenResponse?.refresh_token);
      assert.notEqual(second, first);
      assert.equal(decodeJwt(String(client.state.tokenResponse?.access_token)).patient, publicB);
      assert.equal((await client.request<{ id: string }>(`Patient/${publicB}`)).id, publicB);
      // The old one is refused, and its reuse revokes the family: the new one dies too.
      audit.length = 0;
      const reuse = await tokenRequest({ grant_type: 'refresh_token', refresh_token: first });
      assert.equal(reuse.status, 400);
      assert.equal(reuse.body.error, 'invalid_grant');
      assert.match(String(audit.find((a) => a.action === 'smart-token')?.reason), /^refresh-reused/);
      const after = await tokenRequest({ grant_type: 'refresh_token', refresh_token: second, client_id: 'test-app' });
      assert.equal(after.status, 400);
      assert.equal(after.body.error, 'invalid_grant');
    });

    /** An authorization request by hand (user scope: no picker), returning the redirect back to the app. */
    async function authorizeByHand(
      b: Browser,
      over: Record<string, string | undefined> = {},
    ): Promise<{ res: Response; verifier: string }> {
      const verifier = randomBytes(32).toString('base64url');
      const params: Record<string, string | undefined> = {
        response_type: 'code',
        client_id: 'test-app',
        redirect_uri: `${appBase}/callback`,
        scope: 'user/*.rs offline_access',
        state: 'st-1',
        aud: FHIR,
        code_challenge: s256(verifier),
        code_challenge_method: 'S256',
        ...over,
      };
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
      return { res: await b.go(`${ICR}/oauth/authorize?${q}`), verifier };
    }

    it('PKCE is required (missing and plain refused), the redirect URI must be registered, and codes are single use and bound to their verifier', async () => {
      const b = await launchedBrowser();
      for (const over of [
        { code_challenge: undefined, code_challenge_method: undefined },
        { code_challenge_method: 'plain' },
        { code_challenge_method: undefined },
      ]) {
        const { res } = await authorizeByHand(b, over);
        assert.equal(res.status, 302);
        const back = new URL(location(res));
        assert.equal(back.searchParams.get('error'), 'invalid_request', JSON.stringify(over));
        assert.equal(back.searchParams.get('code'), null);
        assert.equal(back.searchParams.get('state'), 'st-1');
      }
      // An unregistered redirect URI is never redirected to.
      for (const uri of ['https://evil.example/callback', `${appBase}/callback/../evil`, `${appBase}/callbackx`]) {
        const { res } = await authorizeByHand(b, { redirect_uri: uri });
        assert.equal(res.status, 400, uri);
        assert.equal(res.headers.get('location'), null);
        assert.match(await res.text(), /not registered/);
      }
      const wrongAud = new URL(location((await authorizeByHand(b, { aud: 'https://elsewhere.example/fhir' })).res));
      assert.equal(wrongAud.searchParams.get('error'), 'invalid_request');

      // A good code, exchanged once; the second exchange is refused and revokes the refresh token issued.
      const good = await authorizeByHand(b);
      const code = new URL(location(good.res)).searchParams.get('code') ?? '';
      assert.match(code, /^[A-Za-z0-9_-]{40,}$/);
      const exchange = {
        grant_type: 'authorization_code',
        code,
        client_id: 'test-app',
        redirect_uri: `${appBase}/callback`,
        code_verifier: good.verifier,
      };
      const ok = await tokenRequest(exchange);
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.patient, undefined);
      assert.equal(ok.body.scope, 'user/*.rs offline_access');
      const user = await fetch(`${FHIR}/Observation/obs-b`, {
        headers: { authorization: `Bearer ${String(ok.body.access_token)}` },
      });
      assert.equal(user.status, 200, 'a user-scoped token reads with the user’s own access');
      const reused = await tokenRequest(exchange);
      assert.equal(reused.status, 400);
      assert.equal(reused.body.error, 'invalid_grant');
      const refresh = await tokenRequest({ grant_type: 'refresh_token', refresh_token: String(ok.body.refresh_token) });
      assert.equal(refresh.body.error, 'invalid_grant', 'the code’s tokens were revoked');

      // Wrong verifier, missing verifier, wrong redirect URI: refused.
      for (const [name, change] of [
        ['wrong verifier', { code_verifier: randomBytes(32).toString('base64url') }],
        ['no verifier', { code_verifier: '' }],
        ['other redirect_uri', { redirect_uri: `${appBase}/other` }],
      ] as const) {
        const next = await authorizeByHand(b);
        const c = new URL(location(next.res)).searchParams.get('code') ?? '';
        const fields: Record<string, string> = { ...exchange, code: c, code_verifier: next.verifier };
        const res = await tokenRequest(Object.assign(fields, change));
        assert.equal(res.status, 400, name);
        assert.equal(res.body.error, 'invalid_grant', name);
      }
      // Without a session there is no authorization at all.
      const anonymous = await new Browser().go(`${ICR}/oauth/authorize?client_id=test-app`);
      assert.equal(anonymous.status, 401);
    });

    it('forged access tokens are refused: alg none, HS256 keyed with the public key, wrong audience, expired', async () => {
      const b = await launchedBrowser();
      const good = await authorizeByHand(b, { scope: 'user/*.rs' });
      const code = new URL(location(good.res)).searchParams.get('code') ?? '';
      const ok = await tokenRequest({
        grant_type: 'authorization_code',
        code,
        client_id: 'test-app',
        redirect_uri: `${appBase}/callback`,
        code_verifier: good.verifier,
      });
      const real = String(ok.body.access_token);
      const claims = decodeJwt(real);
      const now = Math.floor(Date.now() / 1000);
      const serverJwk = ((await (await fetch(`${ICR}/.well-known/jwks.json`)).json()) as { keys: JWK[] }).keys[0];
      const hsKey = new TextEncoder().encode(JSON.stringify(serverJwk));
      const { privateKey: stranger } = await generateKeyPair('ES256');
      const forged: Array<[string, string]> = [
        ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, scope: 'user/*.rs' })}.`],
        ['HS256 with the public key', await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(hsKey)],
        [
          'wrong audience',
          await new SignJWT({ ...claims, aud: 'another-api' })
            .setProtectedHeader({ alg: 'ES256', kid: String(serverJwk?.kid) })
            .sign(stranger),
        ],
        [
          'expired (re-signed by a stranger)',
          await new SignJWT({ ...claims, iat: now - 7200, exp: now - 3600 })
            .setProtectedHeader({ alg: 'ES256', kid: String(serverJwk?.kid) })
            .sign(stranger),
        ],
        [
          'tampered patient claim',
          `${real.split('.')[0]}.${b64({ ...claims, patient: publicB })}.${real.split('.')[2]}`,
        ],
      ];
      assert.equal(
        (await fetch(`${FHIR}/Patient/${publicA}`, { headers: { authorization: `Bearer ${real}` } })).status,
        200,
      );
      for (const [name, token] of forged) {
        const res = await fetch(`${FHIR}/Patient/${publicA}`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(res.status, 401, name);
      }
    });

    it('SMART tokens never administer, and a patient scope never opens the audit trail', async () => {
      const demo = (id: string, org: string, role: string) => ({ id, name: id, org, role });
      const smartToken = async (user: ReturnType<typeof demo>, scope: string) =>
        `Bearer ${await ta.tokens.issue(user, {
          smart: {
            scope,
            clientId: 'test-app',
            ...(scope.startsWith('patient/') ? { patientId: publicA, personId: 'p-none' } : {}),
          },
        })}`;
      const po = demo('privacy-officer', 'ICR01', 'R0001');
      const poUser = await fetch(`${FHIR}/AuditEvent?_count=1`, {
        headers: { authorization: await smartToken(po, 'user/*.rs') },
      });
      assert.equal(poUser.status, 200, 'the role reads the trail with a user scope');
      const poPatient = await fetch(`${FHIR}/AuditEvent?_count=1`, {
        headers: { authorization: await smartToken(po, 'patient/*.rs') },
      });
      assert.equal(poPatient.status, 403);
      const ie = demo('integration-engineer', 'ICR01', 'icr-integration-engineer');
      const org = { ods: 'Z99999', name: 'Smart Test Org', kind: 'gp-practice' };
      const viaSmart = await fetch(`${ICR}/api/orgs`, {
        method: 'POST',
        headers: { authorization: await smartToken(ie, 'user/*.rs'), 'content-type': 'application/json' },
        body: JSON.stringify(org),
      });
      assert.equal(viaSmart.status, 403);
      const viaOwn = await fetch(`${ICR}/api/orgs`, {
        method: 'POST',
        headers: { authorization: await ta.auth('integration-engineer'), 'content-type': 'application/json' },
        body: JSON.stringify(org),
      });
      assert.notEqual(viaOwn.status, 403, 'the same user with their own token is not refused for their role');
      const admin = demo('system-admin', 'ICR01', 'icr-system-admin');
      const newUser = await fetch(`${ICR}/api/admin/users`, {
        method: 'POST',
        headers: { authorization: await smartToken(admin, 'user/*.rs'), 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'smart-made', name: 'S', profiles: [{ org: 'RNS', role: 'R8000' }] }),
      });
      assert.equal(newUser.status, 403);
    });

    describe('backend services (client_credentials with a signed assertion)', () => {
      const assertion = async (
        over: Record<string, string> = {},
        opts: { key?: CryptoKey | Uint8Array; alg?: string; lifetime?: number; iatOffset?: number } = {},
      ) => {
        const iat = Math.floor(Date.now() / 1000) + (opts.iatOffset ?? 0);
        return new SignJWT({ jti: randomUUID(), ...over })
          .setProtectedHeader({ alg: opts.alg ?? 'ES256', kid: host.kid, typ: 'JWT' })
          .setIssuer(over.iss ?? host.id)
          .setSubject(over.sub ?? host.id)
          .setAudience(over.aud ?? TOKEN_URL)
          .setIssuedAt(iat)
          .setExpirationTime(iat + (opts.lifetime ?? 240))
          .sign(opts.key ?? host.privateKey);
      };
      const grant = (clientAssertion: string, scope = 'system/*.rs') =>
        tokenRequest({
          grant_type: 'client_credentials',
          scope,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: clientAssertion,
        });

      it('a host system without a backend role is refused; with one it reads through the same access rules, read only', async () => {
        const refused = await grant(await assertion());
        assert.equal(refused.status, 400);
        assert.equal(refused.body.error, 'unauthorized_client');
        await setHostBackendRole(ta.t.db, host.id, 'R8000');
        audit.length = 0;
        const ok = await grant(await assertion());
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        assert.equal(ok.body.scope, 'system/*.rs');
        assert.equal(ok.body.expires_in, 300);
        assert.equal(ok.body.refresh_token, undefined);
        const bearer = { authorization: `Bearer ${String(ok.body.access_token)}` };
        const read = await fetch(`${FHIR}/Observation/obs-b`, { headers: bearer });
        assert.equal(read.status, 200, 'the practice’s registered patient, through the organisation’s relationship');
        const write = await fetch(`${FHIR}/Patient`, {
          method: 'POST',
          headers: { ...bearer, 'content-type': 'application/fhir+json' },
          body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Sneaky' }] }),
        });
        assert.equal(write.status, 403);
        const entry = audit.find((a) => a.action === 'smart-token' && a.outcome === 'allowed');
        assert.ok(entry?.actor.kind === 'user' && entry.actor.userId === `system:${host.id}`);
        assert.ok(audit.some((a) => a.action === 'read' && a.outcome === 'allowed' && a.what === 'Observation/obs-b'));
        // Asking for anything but system/*.rs grants nothing.
        assert.equal((await grant(await assertion(), 'system/*.cruds')).body.error, 'invalid_scope');
      });

      it('a replayed assertion is refused and audited', async () => {
        const once = await assertion();
        assert.equal((await grant(once)).status, 200);
        audit.length = 0;
        const again = await grant(once);
        assert.equal(again.status, 401);
        assert.equal(again.body.error, 'invalid_client');
        const entry = audit.find((a) => a.action === 'smart-token');
        assert.equal(entry?.outcome, 'refused');
        assert.equal(entry.reason, 'replayed');
        assert.equal(entry.errorCode, 'ICR_SMART_REFUSED');
      });

      it('forged assertions are refused: alg none, HS256 keyed with the public key, wrong audience, expired, too long lived, unknown system, stranger’s key', async () => {
        const valid = await assertion();
        const [, payload] = valid.split('.');
        const publicJwk = (JSON.parse(host.jwksText) as { keys: JWK[] }).keys[0];
        const { privateKey: stranger } = await generateKeyPair('ES256');
        const cases: Array<[string, string]> = [
          ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`],
          [
            'HS256 with the public key',
            await assertion({}, { alg: 'HS256', key: new TextEncoder().encode(JSON.stringify(publicJwk)) }),
          ],
          ['wrong audience', await assertion({ aud: `${ICR}/fhir` })],
          ['expired', await assertion({}, { iatOffset: -900, lifetime: 240 })],
          ['too long lived', await assertion({}, { lifetime: 3600 })],
          ['iss differs from sub', await assertion({ sub: 'someone-else' })],
          ['unknown system', await assertion({ iss: 'not-registered', sub: 'not-registered' })],
          ['a stranger’s key', await assertion({}, { key: stranger })],
          ['malformed', 'not-a-jwt'],
        ];
        for (const [name, a] of cases) {
          audit.length = 0;
          const res = await grant(a);
          assert.equal(res.status, 401, name);
          assert.equal(res.body.error, 'invalid_client', name);
          assert.equal(audit.find((x) => x.action === 'smart-token')?.outcome, 'refused', `${name} audited`);
        }
        assert.equal(
          (await tokenRequest({ grant_type: 'password', username: 'x' })).body.error,
          'unsupported_grant_type',
        );
      });
    });

    it('a confidential app authenticates with private_key_jwt through fhirclient; without its assertion it is refused', async () => {
      const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
      const jwk = { ...(await exportJWK(publicKey)), kid: 'conf-1', alg: 'ES384' };
      await registerSmartApp(ta.t.db, {
        clientId: 'test-app',
        name: 'Test SMART app',
        redirectUris: [`${appBase}/callback`],
        launchUri: `${appBase}/launch`,
        jwks: JSON.stringify({ keys: [jwk] }),
      });
      appOptions = { clientPrivateJwk: { ...(await exportJWK(privateKey)), kid: 'conf-1', alg: 'ES384' } };
      try {
        const b = await launchedBrowser();
        const launch = await b.form(`${ICR}/smart/launch`, { client_id: 'test-app', _csrf: await b.csrf() });
        const toAuthorize = await b.go(location(launch));
        const toApp = await b.go(location(toAuthorize));
        const callback = await b.go(location(toApp));
        assert.equal(callback.status, 200, await callback.clone().text());
        assert.deepEqual(await callback.json(), { patient: publicA });
        // A public-style exchange (client_id only) is refused for a confidential app.
        const again = await authorizeByHand(b, { scope: 'user/*.rs' });
        const code = new URL(location(again.res)).searchParams.get('code') ?? '';
        const res = await tokenRequest({
          grant_type: 'authorization_code',
          code,
          client_id: 'test-app',
          redirect_uri: `${appBase}/callback`,
          code_verifier: again.verifier,
        });
        assert.equal(res.status, 401);
        assert.equal(res.body.error, 'invalid_client');
      } finally {
        appOptions = {};
      }
    });
  });
}
