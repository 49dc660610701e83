/**
 * The server's signing keys (ES256), as the token service sees them: one key signs, every live key
 * verifies and is published as the JWKS. Where the keys are kept (the database) is the records layer's
 * business (src/records/sign-in/key-ring.ts); `MemoryKeyRing` keeps them in memory (tests, one-off tools).
 * See docs/adr/0023-server-keys-and-sessions.md.
 */
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';

export const SERVER_KEY_ALG = 'ES256';

/** A key pair as JWKs (what is stored), with its key id. */
export interface StoredServerKey {
  kid: string;
  alg: typeof SERVER_KEY_ALG;
  publicJwk: JWK;
  privateJwk: JWK;
}

export interface SigningKey {
  kid: string;
  alg: typeof SERVER_KEY_ALG;
  privateKey: CryptoKey;
}

export interface PublicKeySet {
  keys: JWK[];
}

export interface KeyRing {
  /** The key that signs tokens now. */
  signingKey(): Promise<SigningKey>;
  /** The public keys that verify tokens now (the published JWKS). */
  jwks(): Promise<PublicKeySet>;
  /** Reloads the keys (another process rotated them); called when a token names an unknown key. */
  refresh?(): Promise<void>;
}

/** A fresh ES256 key pair with a random key id. */
export async function generateServerKey(): Promise<StoredServerKey> {
  const { publicKey, privateKey } = await generateKeyPair(SERVER_KEY_ALG, { extractable: true });
  const kid = randomBytes(12).toString('base64url');
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: SERVER_KEY_ALG, use: 'sig' };
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: SERVER_KEY_ALG };
  return { kid, alg: SERVER_KEY_ALG, publicJwk, privateJwk };
}

export async function toSigningKey(k: StoredServerKey): Promise<SigningKey> {
  const privateKey = await importJWK(k.privateJwk, SERVER_KEY_ALG);
  if (privateKey instanceof Uint8Array) throw new Error('A server key must be an asymmetric key');
  return { kid: k.kid, alg: SERVER_KEY_ALG, privateKey };
}

/** Only the public members of a JWK (never `d`, whatever the stored form holds). */
export function publicOnly(jwk: JWK): JWK {
  const { kty, crv, x, y, n, e, kid, alg, use } = jwk;
  const out: JWK = {};
  for (const [k, v] of Object.entries({ kty, crv, x, y, n, e, kid, alg, use })) {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

/** Keys held in memory: the newest signs, all verify. `rotate()` adds a new key. */
export class MemoryKeyRing implements KeyRing {
  readonly #keys: StoredServerKey[] = [];
  #signing: SigningKey | undefined;

  static async create(): Promise<MemoryKeyRing> {
    const ring = new MemoryKeyRing();
    await ring.rotate();
    return ring;
  }

  async rotate(): Promise<StoredServerKey> {
    const key = await generateServerKey();
    this.#keys.unshift(key);
    this.#signing = await toSigningKey(key);
    return key;
  }

  /** Drops a key (as if its verification period had ended). */
  remove(kid: string): void {
    const i = this.#keys.findIndex((k) => k.kid === kid);
    if (i >= 0) this.#keys.splice(i, 1);
  }

  async signingKey(): Promise<SigningKey> {
    if (!this.#signing) throw new Error('The key ring holds no key');
    return this.#signing;
  }

  async jwks(): Promise<PublicKeySet> {
    return { keys: this.#keys.map((k) => publicOnly(k.publicJwk)) };
  }
}
