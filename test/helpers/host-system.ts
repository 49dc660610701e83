/**
 * A host system for launch tests: its own ES256 key pair, its JWKS in a temporary file (as an operator
 * would hand it to `icr systems add`), and a signer of launch tokens following docs/sign-in.md.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';

export interface TestHostSystem {
  id: string;
  org: string;
  jwksFile: string;
  jwksText: string;
  privateKey: CryptoKey;
  kid: string;
  /** Signs a launch token; `claims` override the defaults, `lifetime` (s) sets exp - iat. */
  sign(
    claims?: Record<string, unknown>,
    opts?: { lifetime?: number; iatOffset?: number; key?: CryptoKey; kid?: string },
  ): Promise<string>;
  close(): void;
}

export async function makeHostSystem(id: string, org: string, audience: string): Promise<TestHostSystem> {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `${id}-key-1`;
  const jwksText = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] });
  const dir = mkdtempSync(path.join(tmpdir(), 'icr-host-'));
  const jwksFile = path.join(dir, 'jwks.json');
  writeFileSync(jwksFile, jwksText);
  return {
    id,
    org,
    jwksFile,
    jwksText,
    privateKey,
    kid,
    async sign(claims = {}, opts = {}) {
      const iat = Math.floor(Date.now() / 1000) + (opts.iatOffset ?? 0);
      return new SignJWT({
        name: 'Dr Asha Demo-Patel',
        org,
        role: 'R8000',
        patient_nhs_number: '9990000018',
        ...claims,
      })
        .setProtectedHeader({ alg: 'ES256', kid: opts.kid ?? kid })
        .setIssuer(id)
        .setAudience(audience)
        .setSubject(typeof claims.sub === 'string' ? claims.sub : 'gp-a81001')
        .setIssuedAt(iat)
        .setExpirationTime(iat + (opts.lifetime ?? 120))
        .setJti(randomUUID())
        .sign(opts.key ?? privateKey);
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A session cookie from a response, as `{ icr_session: value }` for the next `inject`. */
export function sessionCookie(res: { cookies: Array<{ name: string; value: string }> }): Record<string, string> {
  const c = res.cookies.find((x) => x.name === 'icr_session');
  if (!c) throw new Error('no session cookie set');
  return { icr_session: c.value };
}
