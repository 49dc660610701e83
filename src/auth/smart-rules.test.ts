import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose';
import {
  checkCodeChallenge,
  checkRedirectUri,
  grantScopes,
  OAuthError,
  redirectAllowed,
  s256,
  verifierMatches,
  verifyClientAssertion,
} from './smart-rules.ts';

describe('SMART scopes', () => {
  it('grants the supported scopes asked for and drops the rest', () => {
    const g = grantScopes('launch patient/*.rs patient/Observation.cruds openid fhirUser offline_access', 'app');
    assert.equal(g.scope, 'launch patient/*.rs openid fhirUser offline_access');
    assert.deepEqual(
      [g.patient, g.user, g.launch, g.openid, g.fhirUser, g.refresh],
      [true, false, true, true, true, true],
    );
    assert.equal(grantScopes('user/*.read', 'app').user, true, 'v1 read scopes are accepted');
  });
  it('refuses a request with no data scope, a write scope only, or a system scope for an app', () => {
    for (const s of ['openid launch', 'patient/*.cruds', 'system/*.rs', '']) {
      assert.throws(
        () => grantScopes(s, 'app'),
        (e: unknown) => e instanceof OAuthError && e.error === 'invalid_scope',
        s,
      );
    }
    assert.throws(() => grantScopes('patient/*.rs', 'backend'), OAuthError);
    assert.equal(grantScopes('system/*.rs', 'backend').system, true);
    assert.throws(() => grantScopes('patient/*.rs "', 'app'), OAuthError, 'a quote is not a scope character');
  });
});

describe('PKCE', () => {
  it('matches the RFC 7636 appendix B example', () => {
    assert.equal(s256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    assert.equal(
      verifierMatches('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'),
      true,
    );
    assert.equal(
      verifierMatches('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'),
      false,
    );
    assert.equal(verifierMatches(undefined, 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'), false);
    assert.equal(verifierMatches('short', s256('short')), false, 'a verifier under 43 characters is refused');
  });
  it('requires S256: a missing challenge and plain are refused', () => {
    const c = s256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk');
    assert.equal(checkCodeChallenge(c, 'S256'), c);
    for (const [challenge, method] of [
      [undefined, undefined],
      [c, 'plain'],
      [c, undefined],
      ['too-short', 'S256'],
    ] as const) {
      assert.throws(() => checkCodeChallenge(challenge, method), OAuthError);
    }
  });
});

describe('redirect URIs', () => {
  it('match exactly, never by prefix', () => {
    const reg = ['https://app.example/cb'];
    assert.equal(redirectAllowed(reg, 'https://app.example/cb'), true);
    for (const u of ['https://app.example/cb/', 'https://app.example/cb?x=1', 'https://app.example/cbx', undefined]) {
      assert.equal(redirectAllowed(reg, u), false, String(u));
    }
  });
  it('registration needs https (http on loopback only) and no fragment', () => {
    assert.equal(checkRedirectUri('http://127.0.0.1:9000/cb'), 'http://127.0.0.1:9000/cb');
    for (const u of ['http://app.example/cb', 'https://app.example/cb#x', 'javascript:alert(1)', 'cb']) {
      assert.throws(() => checkRedirectUri(u), Error, u);
    }
  });
});

describe('client assertions', async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1' }] });
  const now = new Date();
  const opts = {
    tokenEndpoint: 'https://icr.example/oauth/token',
    now,
    keysOf: async (id: string) => (id === 'sys' ? jwks : null),
  };
  const sign = (claims: Record<string, string> = {}, exp = 120) =>
    new SignJWT({ jti: randomUUID(), ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer('sys')
      .setSubject(claims.sub ?? 'sys')
      .setAudience(claims.aud ?? opts.tokenEndpoint)
      .setIssuedAt(Math.floor(now.getTime() / 1000))
      .setExpirationTime(Math.floor(now.getTime() / 1000) + exp)
      .sign(privateKey);

  it('accepts a well-formed assertion and names the client', async () => {
    const v = await verifyClientAssertion(await sign(), opts);
    assert.equal(v.clientId, 'sys');
    assert.ok(v.jti.length >= 8);
  });
  it('refuses each fault with a stable reason', async () => {
    const cases: Array<[string, Promise<string> | string]> = [
      ['wrong-audience', sign({ aud: 'https://elsewhere/token' })],
      ['bad-claims', sign({ sub: 'other' })],
      ['too-long-lived', sign({}, 3600)],
      ['malformed', 'x.y'],
      ['bad-claims', sign({ jti: 'short' })],
    ];
    for (const [reason, token] of cases) {
      await assert.rejects(
        verifyClientAssertion(await token, opts),
        (e: unknown) => e instanceof OAuthError && e.error === 'invalid_client' && e.reason === reason,
        reason,
      );
    }
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${(await sign()).split('.')[1]}.`;
    await assert.rejects(
      verifyClientAssertion(none, opts),
      (e: unknown) => e instanceof OAuthError && e.reason === 'unsupported-algorithm',
    );
    await assert.rejects(
      verifyClientAssertion(await sign(), { ...opts, keysOf: async () => null }),
      (e: unknown) => e instanceof OAuthError && e.reason === 'unknown-client',
    );
  });
});
