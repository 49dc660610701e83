/**
 * The server's signing keys kept in the database (table signing_key, migration 0009), so that every server
 * process signs with the same key and `icr keys rotate` reaches them all: a process reloads the keys every
 * minute, and at once when a token names a key it has not seen.
 */
import {
  generateServerKey,
  publicOnly,
  toSigningKey,
  type KeyRing,
  type PublicKeySet,
  type SigningKey,
} from '../../auth/keys.ts';
import type { JWK } from 'jose';
import type { Db } from '../../store/db.ts';
import { insertActiveSigningKey, listLiveSigningKeys, type SigningKeyRow } from '../../store/sign-in-store.ts';

const RELOAD_MS = 60_000;
/** Slack beyond the longest token lifetime before a retired key stops verifying. */
const RETIRED_GRACE_SECONDS = 300;

export interface DbKeyRingOptions {
  now?: () => Date;
}

export class DbKeyRing implements KeyRing {
  readonly #db: Db;
  readonly #now: () => Date;
  #rows: SigningKeyRow[] = [];
  #signing: SigningKey | undefined;
  #loadedAt = 0;

  private constructor(db: Db, opts: DbKeyRingOptions) {
    this.#db = db;
    this.#now = opts.now ?? (() => new Date());
  }

  /** Opens the key ring, creating the first key when the database holds none. */
  static async open(db: Db, opts: DbKeyRingOptions = {}): Promise<DbKeyRing> {
    const ring = new DbKeyRing(db, opts);
    await ring.refresh();
    if (!ring.#rows.some((r) => r.retiredAt === null)) {
      await rotateServerKeys(db, { maxTtlSeconds: 0, now: ring.#now() });
      await ring.refresh();
    }
    return ring;
  }

  async refresh(): Promise<void> {
    this.#rows = await listLiveSigningKeys(this.#db, this.#now());
    const active = this.#rows.find((r) => r.retiredAt === null);
    this.#signing = active
      ? await toSigningKey({
          kid: active.kid,
          alg: 'ES256',
          publicJwk: JSON.parse(active.publicJwk) as JWK,
          privateJwk: JSON.parse(active.privateJwk) as JWK,
        })
      : undefined;
    this.#loadedAt = Date.now();
  }

  async #fresh(): Promise<void> {
    if (Date.now() - this.#loadedAt > RELOAD_MS) await this.refresh();
  }

  async signingKey(): Promise<SigningKey> {
    await this.#fresh();
    if (!this.#signing) throw new Error('No active signing key; run `icr keys rotate`');
    return this.#signing;
  }

  async jwks(): Promise<PublicKeySet> {
    await this.#fresh();
    return { keys: this.#rows.map((r) => publicOnly(JSON.parse(r.publicJwk) as JWK)) };
  }
}

/**
 * Makes a new signing key the active one. The keys it replaces keep verifying until every token they
 * signed has expired (`maxTtlSeconds` plus a grace period), then drop out of the JWKS.
 */
export async function rotateServerKeys(
  db: Db,
  opts: { maxTtlSeconds: number; now?: Date },
): Promise<{ kid: string; retired: string[] }> {
  const now = opts.now ?? new Date();
  const before = (await listLiveSigningKeys(db, now)).filter((r) => r.retiredAt === null).map((r) => r.kid);
  const key = await generateServerKey();
  const verifyUntil = new Date(now.getTime() + (opts.maxTtlSeconds + RETIRED_GRACE_SECONDS) * 1000);
  await insertActiveSigningKey(
    db,
    {
      kid: key.kid,
      alg: key.alg,
      publicJwk: JSON.stringify(key.publicJwk),
      privateJwk: JSON.stringify(key.privateJwk),
    },
    now,
    verifyUntil,
  );
  return { kid: key.kid, retired: before };
}

export { listLiveSigningKeys };
