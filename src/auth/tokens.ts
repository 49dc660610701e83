/**
 * Bearer tokens. Server tokens are ES256 JWTs signed with the server's current key and verified against
 * its published keys (JWKS at /.well-known/jwks.json; rotated with `icr keys rotate`, see keys.ts).
 * Development tokens (`icr token`, scripts and tests) are HS256 JWTs signed with a local secret and marked
 * `icr_dev`; they are accepted only when dev tokens are allowed (ICR_ALLOW_DEV_TOKENS=true, or the demo).
 *
 * Claims: `sub` (user id), `org` (ODS code), `role` (RBAC code), `name`, `iat`, `exp`, `iss`/`aud` fixed
 * to this product. Every token's lifetime (`exp - iat`) is capped by configuration (ICR_TOKEN_MAX_TTL):
 * a token claiming a longer life is refused whoever signed it.
 *
 * The dev secret is `ICR_TOKEN_SECRET` when configured, otherwise one generated on first use and kept in
 * `<dataDir>/token-secret` (mode 0600; a file readable by others is refused). See docs/adr/0023.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  SignJWT,
  type JWTPayload,
} from 'jose';
import type { Config } from '../config/config.ts';
import type { ActorLimits, SystemActor, UserActor } from '../shared/actor.ts';
import { IcrError } from '../shared/errors.ts';
import { SERVER_KEY_ALG, type KeyRing } from './keys.ts';

export const TOKEN_ISSUER = 'openicr';
export const TOKEN_AUDIENCE = 'openicr-fhir';
export const DEFAULT_TOKEN_TTL_SECONDS = 8 * 60 * 60;
/** The role claim of a feed's credential (never a user's role). */
export const FEED_ROLE = 'icr-feed';
const SECRET_FILE = 'token-secret';
const CLAIM_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;
const CLOCK_TOLERANCE_SECONDS = 30;
/** Most verified tokens remembered (least recently used forgotten first). */
const VERIFIED_CACHE_SIZE = 10_000;

/** A verified token, remembered by its SHA-256 until its `exp`, while the published keys are unchanged. */
interface VerifiedToken {
  actor: UserActor | SystemActor;
  exp: number;
  /** The published key set it verified against (null: a development token, HS256). */
  keys: string | null;
}

/** A fresh copy of a remembered actor (callers set `via` on the one they get). */
function copyActor<A extends UserActor | SystemActor>(a: A): A {
  const out = { ...a };
  if (out.kind === 'user' && out.limits) out.limits = { ...out.limits };
  return out;
}

export interface TokenSubject {
  /** User id (`sub`). */
  id: string;
  name: string;
  /** ODS code (`org`). */
  org: string;
  /** Role code (`role`). */
  role: string;
}

/** What a SMART access token adds to the subject (src/auth/smart-rules.ts): the narrowing it carries. */
export interface SmartTokenClaims {
  /** The granted scopes (`scope`). */
  scope: string;
  /** The app or backend services client (`client_id`). */
  clientId: string;
  /** Patient scope: the launch Patient (`patient`) and its person (`icr_person`). */
  patientId?: string;
  personId?: string;
  /** A backend services client acting as itself (`icr_backend`). */
  backend?: boolean;
}

export interface TokenServiceOptions {
  /** The server's signing keys (server tokens). */
  keys: KeyRing;
  /** The HS256 secret of development tokens; without it dev tokens can be neither issued nor accepted. */
  devSecret?: string | Uint8Array;
  /** Accept development tokens (marked `icr_dev`). Default false. */
  acceptDevTokens?: boolean;
  /** Lifetime of issued tokens (default 8 hours, never above `maxTtlSeconds`). */
  ttlSeconds?: number;
  /** Longest lifetime (`exp - iat`) accepted or issued (default 8 hours). */
  maxTtlSeconds?: number;
  now?: () => Date;
  /** Most verified tokens remembered, by hash, until their expiry (default 10,000; 0: none). */
  verifiedCacheSize?: number;
}

const refused = (message: string, cause?: unknown): IcrError =>
  new IcrError('ICR_UNAUTHENTICATED', message, cause === undefined ? undefined : { cause });

export class TokenService {
  readonly #keys: KeyRing;
  #keySetCache: { text: string; set: ReturnType<typeof createLocalJWKSet> } | undefined;
  readonly #devKey: Uint8Array | undefined;
  readonly #acceptDev: boolean;
  readonly #ttl: number;
  readonly #maxTtl: number;
  readonly #now: () => Date;
  readonly #verified = new Map<string, VerifiedToken>();
  readonly #cacheSize: number;
  #verifications = 0;

  constructor(opts: TokenServiceOptions) {
    this.#keys = opts.keys;
    if (opts.devSecret !== undefined) {
      const key = typeof opts.devSecret === 'string' ? new TextEncoder().encode(opts.devSecret) : opts.devSecret;
      if (key.length < 32) throw new Error('The token secret must be at least 32 bytes');
      this.#devKey = key;
    }
    this.#acceptDev = opts.acceptDevTokens ?? false;
    this.#maxTtl = opts.maxTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
    this.#ttl = Math.min(opts.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS, this.#maxTtl);
    this.#now = opts.now ?? (() => new Date());
    this.#cacheSize = opts.verifiedCacheSize ?? VERIFIED_CACHE_SIZE;
  }

  /**
   * The service for a configuration: server tokens signed by `keys`; dev tokens with the configured secret
   * (or `<dataDir>/token-secret`), accepted when `acceptDevTokens` (default: ICR_ALLOW_DEV_TOKENS=true).
   */
  static fromConfig(
    config: Pick<Config, 'tokenSecret' | 'dataDir' | 'allowDevTokens' | 'tokenMaxTtlSeconds'>,
    opts: Omit<TokenServiceOptions, 'devSecret' | 'maxTtlSeconds'> & { loadDevSecret?: boolean },
  ): TokenService {
    const acceptDevTokens = opts.acceptDevTokens ?? config.allowDevTokens === true;
    const wantSecret = opts.loadDevSecret ?? acceptDevTokens;
    const devSecret = config.tokenSecret ?? (wantSecret ? loadOrCreateSecret(config.dataDir) : undefined);
    return new TokenService({
      ...opts,
      acceptDevTokens,
      maxTtlSeconds: config.tokenMaxTtlSeconds,
      ...(devSecret === undefined ? {} : { devSecret }),
    });
  }

  get maxTtlSeconds(): number {
    return this.#maxTtl;
  }

  /**
   * Issues a token. `dev` (default false) issues a development token (HS256, dev secret, marked `icr_dev`),
   * which a server accepts only when dev tokens are allowed; otherwise an ES256 server token.
   */
  async issue(
    subject: TokenSubject,
    opts: { ttlSeconds?: number; dev?: boolean; smart?: SmartTokenClaims } = {},
  ): Promise<string> {
    for (const [k, v] of [
      ['id', subject.id],
      ['org', subject.org],
      ['role', subject.role],
    ] as const) {
      if (!CLAIM_PATTERN.test(v)) throw new IcrError('ICR_BAD_REQUEST', `Token ${k} "${v}" is not a valid identifier`);
    }
    const ttl = opts.ttlSeconds ?? this.#ttl;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > this.#maxTtl) {
      throw new IcrError('ICR_BAD_REQUEST', `A token lifetime must be between 1 and ${this.#maxTtl} seconds`);
    }
    const iat = Math.floor(this.#now().getTime() / 1000);
    const claims: Record<string, unknown> = { org: subject.org, role: subject.role, name: subject.name };
    if (opts.smart) {
      const m = opts.smart;
      Object.assign(claims, {
        scope: m.scope,
        client_id: m.clientId,
        ...(m.patientId === undefined ? {} : { patient: m.patientId }),
        ...(m.personId === undefined ? {} : { icr_person: m.personId }),
        ...(m.backend === true ? { icr_backend: true } : {}),
      });
    }
    const jwt = (c: Record<string, unknown>) =>
      new SignJWT(c)
        .setSubject(subject.id)
        .setIssuer(TOKEN_ISSUER)
        .setAudience(TOKEN_AUDIENCE)
        .setIssuedAt(iat)
        .setExpirationTime(iat + ttl);
    if (opts.dev === true) {
      if (!this.#devKey) throw new IcrError('ICR_BAD_REQUEST', 'Development tokens are not configured');
      return jwt({ ...claims, icr_dev: true })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .sign(this.#devKey);
    }
    const key = await this.#keys.signingKey();
    return jwt(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
  }

  /**
   * Signs an OpenID Connect ID token (ES256, the server's current key) for a SMART app: `iss` the FHIR base
   * URL (the SMART configuration's `issuer`), `aud` the client id.
   */
  async issueIdToken(claims: {
    issuer: string;
    audience: string;
    subject: string;
    nonce?: string;
    fhirUser?: string;
    name?: string;
  }): Promise<string> {
    const iat = Math.floor(this.#now().getTime() / 1000);
    const key = await this.#keys.signingKey();
    return new SignJWT({
      ...(claims.nonce === undefined ? {} : { nonce: claims.nonce }),
      ...(claims.fhirUser === undefined ? {} : { fhirUser: claims.fhirUser }),
      ...(claims.name === undefined ? {} : { name: claims.name }),
    })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .setIssuer(claims.issuer)
      .setAudience(claims.audience)
      .setSubject(claims.subject)
      .setIssuedAt(iat)
      .setExpirationTime(iat + Math.min(3600, this.#maxTtl))
      .sign(key.privateKey);
  }

  /**
   * Issues a feed's credential: an ES256 server token naming the feed (`icr_feed`), `sub` `feed:<id>` and
   * the feed's organisation. It makes its bearer that feed, a system that may only write (docs/feeds.md).
   */
  async issueFeed(feed: { id: string; org: string }, opts: { ttlSeconds?: number } = {}): Promise<string> {
    for (const v of [feed.id, feed.org]) {
      if (!CLAIM_PATTERN.test(v)) throw new IcrError('ICR_BAD_REQUEST', `"${v}" is not a valid identifier`);
    }
    const ttl = opts.ttlSeconds ?? this.#ttl;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > this.#maxTtl) {
      throw new IcrError('ICR_BAD_REQUEST', `A token lifetime must be between 1 and ${this.#maxTtl} seconds`);
    }
    const iat = Math.floor(this.#now().getTime() / 1000);
    const key = await this.#keys.signingKey();
    return new SignJWT({ org: feed.org, role: FEED_ROLE, icr_feed: feed.id })
      .setSubject(`feed:${feed.id}`)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttl)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .sign(key.privateKey);
  }

  /**
   * Issues a SMART backend services token for a host system writing as the FHIR feed it sends (ADR 0044):
   * an ES256 server token with `sub` `system:<client id>`, the feed's organisation, role `icr-feed`,
   * `icr_feed` the feed, `client_id`, `scope` (`system/*.cu`) and `icr_backend`. Its bearer is that feed.
   */
  async issueSystemFeed(
    s: { clientId: string; feedId: string; org: string; scope: string },
    opts: { ttlSeconds: number },
  ): Promise<string> {
    for (const v of [s.clientId, s.feedId, s.org]) {
      if (!CLAIM_PATTERN.test(v)) throw new IcrError('ICR_BAD_REQUEST', `"${v}" is not a valid identifier`);
    }
    const ttl = opts.ttlSeconds;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > this.#maxTtl) {
      throw new IcrError('ICR_BAD_REQUEST', `A token lifetime must be between 1 and ${this.#maxTtl} seconds`);
    }
    const iat = Math.floor(this.#now().getTime() / 1000);
    const key = await this.#keys.signingKey();
    return new SignJWT({
      org: s.org,
      role: FEED_ROLE,
      icr_feed: s.feedId,
      client_id: s.clientId,
      scope: s.scope,
      icr_backend: true,
    })
      .setSubject(`system:${s.clientId}`)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttl)
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .sign(key.privateKey);
  }

  /** Verifies a user's token and returns the user; throws ICR_UNAUTHENTICATED (never saying why in detail). */
  async verify(token: string): Promise<UserActor> {
    const actor = await this.verifyCaller(token);
    if (actor.kind !== 'user') throw refused('The bearer token is invalid or has expired');
    return actor;
  }

  /**
   * Verifies a token and returns the actor it names: a user, or a feed (a system) for a feed's credential;
   * throws ICR_UNAUTHENTICATED (never saying why in detail).
   */
  async verifyCaller(token: string): Promise<UserActor | SystemActor> {
    // A token seen before is not verified again (ES256 verification was a tenth of a read's CPU): it is
    // remembered by its hash until its expiry, and forgotten when the published keys change (rotation,
    // a key dropped). Refusals are never remembered.
    // The entry stays in the map while the published keys are awaited, so concurrent requests bearing the
    // same token (a page's parallel calls) all find it, rather than each missing and verifying again.
    const hash = createHash('sha256').update(token).digest('base64url');
    const hit = this.#verified.get(hash);
    if (hit) {
      const keysNow = hit.keys === null ? null : await this.#keysText();
      const valid = this.#now().getTime() / 1000 < hit.exp && keysNow === hit.keys;
      if (this.#verified.get(hash) === hit) {
        this.#verified.delete(hash);
        if (valid) this.#verified.set(hash, hit); // most recently used last
      }
      if (valid) return copyActor(hit.actor);
    }
    this.#verifications += 1;
    const verified = await this.#verifyToken(token);
    if (this.#cacheSize > 0) {
      if (this.#verified.size >= this.#cacheSize) {
        const oldest = this.#verified.keys().next();
        if (!oldest.done) this.#verified.delete(oldest.value);
      }
      this.#verified.set(hash, verified);
    }
    return copyActor(verified.actor);
  }

  /** How many verified tokens are remembered now, and how many signatures were checked (tests, benches). */
  get verifiedCache(): { size: number; verifications: number } {
    return { size: this.#verified.size, verifications: this.#verifications };
  }

  async #keysText(): Promise<string> {
    await this.#keySet();
    return this.#keySetCache?.text ?? '';
  }

  async #verifyToken(token: string): Promise<VerifiedToken> {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch (err) {
      throw refused('The bearer token is invalid or has expired', err);
    }
    const common = {
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE,
      requiredClaims: ['sub', 'iat', 'exp', 'org', 'role'],
      currentDate: this.#now(),
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    };
    let payload: JWTPayload;
    let keys: string | null = null;
    if (alg === 'HS256') {
      // Only ever the dev secret, and only when dev tokens are allowed: an HS256 token "signed" with a
      // public key (algorithm confusion) or with the dev secret on a production server stops here.
      if (!this.#acceptDev || !this.#devKey) throw refused('Development tokens are not accepted by this server');
      try {
        ({ payload } = await jwtVerify(token, this.#devKey, { ...common, algorithms: ['HS256'] }));
      } catch (err) {
        throw refused('The bearer token is invalid or has expired', err);
      }
      if (payload.icr_dev !== true || payload.icr_feed !== undefined) {
        throw refused('The bearer token is invalid or has expired');
      }
    } else if (alg === SERVER_KEY_ALG) {
      payload = await this.#verifyServerToken(token, common);
      keys = await this.#keysText();
      if (payload.icr_dev !== undefined) throw refused('The bearer token is invalid or has expired');
    } else {
      throw refused('The bearer token is invalid or has expired');
    }
    const { sub, org, role, name, iat, exp } = payload;
    if (typeof iat !== 'number' || typeof exp !== 'number' || exp - iat > this.#maxTtl) {
      throw refused('The bearer token claims a longer life than this server accepts');
    }
    if (iat > this.#now().getTime() / 1000 + CLOCK_TOLERANCE_SECONDS) {
      throw refused('The bearer token was issued in the future');
    }
    if (typeof sub !== 'string' || typeof org !== 'string' || typeof role !== 'string') {
      throw refused('The bearer token lacks the required claims');
    }
    if (![sub, org, role].every((v) => CLAIM_PATTERN.test(v))) {
      throw refused('The bearer token has malformed claims');
    }
    if (payload.icr_feed !== undefined) {
      // Only server tokens name a feed (a development token never does: refused above).
      const feedId = payload.icr_feed;
      if (typeof feedId !== 'string' || !CLAIM_PATTERN.test(feedId) || role !== FEED_ROLE) {
        throw refused('The bearer token has malformed claims');
      }
      if (payload.client_id !== undefined) {
        // A host system's backend services token writing as its feed (ADR 0044).
        const clientId = payload.client_id;
        if (
          typeof clientId !== 'string' ||
          !CLAIM_PATTERN.test(clientId) ||
          sub !== `system:${clientId}` ||
          payload.icr_backend !== true ||
          typeof payload.scope !== 'string' ||
          !payload.scope.split(' ').includes('system/*.cu')
        ) {
          throw refused('The bearer token has malformed claims');
        }
        return { actor: { kind: 'system', systemId: sub, orgOds: org, feedId, clientId }, exp, keys };
      }
      if (sub !== `feed:${feedId}`) throw refused('The bearer token has malformed claims');
      return { actor: { kind: 'system', systemId: sub, orgOds: org, feedId }, exp, keys };
    }
    const actor: UserActor = { kind: 'user', userId: sub, orgOds: org, role };
    if (typeof name === 'string') actor.displayName = name;
    if (payload.scope !== undefined) actor.limits = smartLimits(payload);
    return { actor, exp, keys };
  }

  /**
   * The verification key set, rebuilt only when the published keys change: a local JWK set imports each key
   * once and keeps it, where a fresh set per request re-imported the EC key every time (a tenth of a
   * request's CPU in `npm run bench:access`).
   */
  async #keySet(): Promise<ReturnType<typeof createLocalJWKSet>> {
    const jwks = await this.#keys.jwks();
    const text = JSON.stringify(jwks);
    if (this.#keySetCache?.text !== text) this.#keySetCache = { text, set: createLocalJWKSet(jwks) };
    return this.#keySetCache.set;
  }

  async #verifyServerToken(token: string, common: Parameters<typeof jwtVerify>[2]): Promise<JWTPayload> {
    const attempt = async () =>
      (
        await jwtVerify(token, await this.#keySet(), {
          ...common,
          algorithms: [SERVER_KEY_ALG],
        })
      ).payload;
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof joseErrors.JWKSNoMatchingKey && this.#keys.refresh) {
        // Another process may have rotated the keys since they were loaded.
        await this.#keys.refresh();
        try {
          return await attempt();
        } catch (again) {
          throw refused('The bearer token is invalid or has expired', again);
        }
      }
      throw refused('The bearer token is invalid or has expired', err);
    }
  }
}

/**
 * The narrowing of a SMART access token: read only (every scope this server grants is `.rs`), and with a
 * patient scope the one person. A token claiming a patient scope without its person is refused.
 */
function smartLimits(payload: JWTPayload): ActorLimits {
  const { scope, client_id: clientId, patient, icr_person: person, icr_backend: backend } = payload;
  if (typeof scope !== 'string' || typeof clientId !== 'string' || !CLAIM_PATTERN.test(clientId)) {
    throw refused('The bearer token has malformed claims');
  }
  const limits: ActorLimits = { clientId, readOnly: true };
  const scopes = scope.split(' ');
  if (scopes.some((s) => s.startsWith('patient/'))) {
    if (typeof person !== 'string' || typeof patient !== 'string') {
      throw refused('The bearer token has malformed claims');
    }
    limits.personId = person;
    limits.patientId = patient;
  }
  if (backend === true) limits.backend = true;
  return limits;
}

/** Reads `<dataDir>/token-secret`, creating it (32 random bytes, mode 0600) when absent. */
export function loadOrCreateSecret(dataDir: string, fileName: string = SECRET_FILE): string {
  const file = path.join(dataDir, fileName);
  mkdirSync(dataDir, { recursive: true });
  try {
    // 'wx' fails if another process created it first; then we read theirs.
    writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) {
    throw new Error(`${file} is readable by other users; run: chmod 600 ${file}`);
  }
  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < 32) throw new Error(`${file} holds a secret shorter than 32 characters`);
  return secret;
}
