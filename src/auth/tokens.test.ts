/**
 * Attacks on bearer tokens: alg `none`, algorithm confusion (HS256 "signed" with the server's public key),
 * a token signed with the dev secret on a server that does not allow dev tokens, a lifetime beyond the
 * configured cap (`exp` 10^20), and key rotation (old tokens verify until their key is dropped).
 */
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { MemoryKeyRing } from './keys.ts';
import { TOKEN_AUDIENCE, TOKEN_ISSUER, TokenService } from './tokens.ts';

const SECRET = 'unit-test-secret-unit-test-secret-0123456789';
const GP = { id: 'gp-a81001', name: 'Dr Asha Demo-Patel', org: 'A81001', role: 'R8000' };
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const claims = (over: Record<string, unknown> = {}) => {
  const iat = Math.floor(Date.now() / 1000);
  return {
    sub: GP.id,
    org: GP.org,
    role: GP.role,
    iss: TOKEN_ISSUER,
    aud: TOKEN_AUDIENCE,
    iat,
    exp: iat + 600,
    ...over,
  };
};

describe('bearer token attacks', () => {
  it('alg none is refused, with or without a signature part', async () => {
    const tokens = new TokenService({ keys: await MemoryKeyRing.create(), devSecret: SECRET, acceptDevTokens: true });
    for (const sig of ['', 'AAAA']) {
      const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims({ icr_dev: true }))}.${sig}`;
      await assert.rejects(tokens.verify(none), { code: 'ICR_UNAUTHENTICATED' });
    }
  });

  it('algorithm confusion: an HS256 token keyed with the published public key is refused', async () => {
    const keys = await MemoryKeyRing.create();
    const jwk = (await keys.jwks()).keys[0];
    assert.ok(jwk);
    assert.equal(jwk.d, undefined, 'the JWKS publishes no private part');
    const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    for (const acceptDevTokens of [false, true]) {
      const tokens = new TokenService({ keys, devSecret: SECRET, acceptDevTokens });
      for (const secret of [String(pem), JSON.stringify(jwk)]) {
        const forged = await new SignJWT(claims())
          .setProtectedHeader({ alg: 'HS256', kid: jwk.kid ?? '' })
          .sign(new TextEncoder().encode(secret));
        await assert.rejects(tokens.verify(forged), { code: 'ICR_UNAUTHENTICATED' });
      }
    }
  });

  it('a token signed with the dev secret is refused unless dev tokens are allowed', async () => {
    const keys = await MemoryKeyRing.create();
    const dev = new TokenService({ keys, devSecret: SECRET, acceptDevTokens: true });
    const token = await dev.issue(GP, { dev: true });
    assert.equal((await dev.verify(token)).userId, GP.id);
    const production = new TokenService({ keys, devSecret: SECRET, acceptDevTokens: false });
    await assert.rejects(production.verify(token), /Development tokens are not accepted/);
    const noSecret = new TokenService({ keys });
    await assert.rejects(noSecret.verify(token), { code: 'ICR_UNAUTHENTICATED' });
    // Not even an HS256 token carrying the dev secret without the dev marker.
    const unmarked = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET));
    await assert.rejects(dev.verify(unmarked), { code: 'ICR_UNAUTHENTICATED' });
  });

  it('a token living longer than the configured cap is refused (exp 10^20), and cannot be issued', async () => {
    const keys = await MemoryKeyRing.create();
    const tokens = new TokenService({ keys, devSecret: SECRET, acceptDevTokens: true, maxTtlSeconds: 3600 });
    const key = await keys.signingKey();
    for (const exp of [1e20, Math.floor(Date.now() / 1000) + 7200]) {
      const long = await new SignJWT(claims({ exp }))
        .setProtectedHeader({ alg: 'ES256', kid: key.kid })
        .sign(key.privateKey);
      await assert.rejects(tokens.verify(long), { code: 'ICR_UNAUTHENTICATED' });
      const longDev = await new SignJWT(claims({ exp, icr_dev: true }))
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode(SECRET));
      await assert.rejects(tokens.verify(longDev), { code: 'ICR_UNAUTHENTICATED' });
    }
    const noIat = await new SignJWT({ ...claims(), iat: undefined })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid })
      .sign(key.privateKey);
    await assert.rejects(tokens.verify(noIat), { code: 'ICR_UNAUTHENTICATED' });
    await assert.rejects(tokens.issue(GP, { ttlSeconds: 7200 }), { code: 'ICR_BAD_REQUEST' });
    assert.equal((await tokens.verify(await tokens.issue(GP, { ttlSeconds: 3600 }))).userId, GP.id);
  });

  it('after rotation the new key signs, old tokens verify until the old key is dropped', async () => {
    const keys = await MemoryKeyRing.create();
    const tokens = new TokenService({ keys });
    const before = await tokens.issue(GP);
    const oldKid = (await keys.signingKey()).kid;
    const rotated = await keys.rotate();
    const after = await tokens.issue(GP);
    assert.notEqual(rotated.kid, oldKid);
    assert.equal(JSON.parse(Buffer.from(after.split('.')[0] ?? '', 'base64url').toString()).kid, rotated.kid);
    assert.equal((await keys.jwks()).keys.length, 2);
    assert.equal((await tokens.verify(before)).userId, GP.id);
    keys.remove(oldKid);
    await assert.rejects(tokens.verify(before), { code: 'ICR_UNAUTHENTICATED' });
    assert.equal((await tokens.verify(after)).userId, GP.id);
  });

  it('a feed credential names a system that is that feed; it is no user, and a dev token cannot name a feed', async () => {
    const tokens = new TokenService({ keys: await MemoryKeyRing.create(), devSecret: SECRET, acceptDevTokens: true });
    const token = await tokens.issueFeed({ id: 'gp-fhir', org: 'A99001' });
    assert.deepEqual(await tokens.verifyCaller(token), {
      kind: 'system',
      systemId: 'feed:gp-fhir',
      orgOds: 'A99001',
      feedId: 'gp-fhir',
    });
    await assert.rejects(tokens.verify(token), { code: 'ICR_UNAUTHENTICATED' }, 'not accepted where a user is needed');
    const forged = await new SignJWT(
      claims({ sub: 'feed:gp-fhir', role: 'icr-feed', icr_dev: true, icr_feed: 'gp-fhir' }),
    )
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(SECRET));
    await assert.rejects(tokens.verifyCaller(forged), { code: 'ICR_UNAUTHENTICATED' });
  });
});

describe('verified tokens are remembered (by hash, until expiry, while the keys are unchanged)', () => {
  it('a token seen before is not verified again, and each caller gets its own actor', async () => {
    const tokens = new TokenService({ keys: await MemoryKeyRing.create() });
    const token = await tokens.issue(GP);
    const a = await tokens.verify(token);
    const b = await tokens.verify(token);
    assert.deepEqual(tokens.verifiedCache, { size: 1, verifications: 1 });
    assert.notEqual(a, b);
    a.via = { channel: 'fhir', requestId: 'r1' };
    assert.equal(b.via, undefined);
    assert.equal(b.userId, GP.id);
  });

  it('concurrent requests bearing a remembered token are not verified again', async () => {
    const tokens = new TokenService({ keys: await MemoryKeyRing.create() });
    const token = await tokens.issue(GP);
    await tokens.verify(token);
    const actors = await Promise.all(Array.from({ length: 16 }, () => tokens.verify(token)));
    assert.ok(actors.every((a) => a.userId === GP.id));
    assert.deepEqual(tokens.verifiedCache, { size: 1, verifications: 1 });
  });

  it('a remembered token is refused once it expires', async () => {
    let now = new Date();
    const tokens = new TokenService({ keys: await MemoryKeyRing.create(), now: () => now });
    const token = await tokens.issue(GP, { ttlSeconds: 60 });
    assert.equal((await tokens.verify(token)).userId, GP.id);
    now = new Date(now.getTime() + 61_000 + 30_000); // past exp and the clock tolerance
    await assert.rejects(tokens.verify(token), { code: 'ICR_UNAUTHENTICATED' });
    assert.equal(tokens.verifiedCache.verifications, 2);
  });

  it('a remembered token is verified again after its key is dropped, and refused', async () => {
    const keys = await MemoryKeyRing.create();
    const tokens = new TokenService({ keys });
    const token = await tokens.issue(GP);
    await tokens.verify(token);
    const oldKid = (await keys.signingKey()).kid;
    await keys.rotate();
    keys.remove(oldKid);
    await assert.rejects(tokens.verify(token), { code: 'ICR_UNAUTHENTICATED' });
  });

  it('refusals are not remembered, and the cache is bounded (least recently used forgotten)', async () => {
    const tokens = new TokenService({ keys: await MemoryKeyRing.create(), verifiedCacheSize: 2 });
    const [t1, t2, t3] = await Promise.all([
      tokens.issue(GP),
      tokens.issue({ ...GP, id: 'nurse-1' }),
      tokens.issue({ ...GP, id: 'nurse-2' }),
    ]);
    await assert.rejects(tokens.verify(`${t1}x`), { code: 'ICR_UNAUTHENTICATED' });
    assert.equal(tokens.verifiedCache.size, 0);
    await tokens.verify(t1 ?? '');
    await tokens.verify(t2 ?? '');
    await tokens.verify(t1 ?? ''); // t1 most recently used: t2 is forgotten first
    await tokens.verify(t3 ?? '');
    assert.deepEqual(tokens.verifiedCache, { size: 2, verifications: 4 }); // the refused one was checked too
    await tokens.verify(t1 ?? '');
    assert.equal(tokens.verifiedCache.verifications, 4);
    await tokens.verify(t2 ?? '');
    assert.equal(tokens.verifiedCache.verifications, 5);
  });
});
