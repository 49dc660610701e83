/**
 * Bearer tokens: HS256 JWTs signed with one server secret. Claims: `sub` (user id), `org` (ODS code),
 * `role` (RBAC code), `name`, `iat`, `exp` (default 8 hours), `iss`/`aud` fixed to this product.
 *
 * The secret is `ICR_TOKEN_SECRET` when configured, otherwise one generated on first use and kept in
 * `<dataDir>/token-secret` (mode 0600; a file readable by others is refused). See docs/adr/0013-http-api.md.
 * Full SMART App Launch arrives with the access-control issue; this is the minimal, secure-by-default part.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { jwtVerify, SignJWT } from 'jose';
import type { Config } from '../config/config.ts';
import type { UserActor } from '../shared/actor.ts';
import { IcrError } from '../shared/errors.ts';

export const TOKEN_ISSUER = 'openicr';
export const TOKEN_AUDIENCE = 'openicr-fhir';
export const DEFAULT_TOKEN_TTL_SECONDS = 8 * 60 * 60;
const SECRET_FILE = 'token-secret';
const CLAIM_PATTERN = /^[A-Za-z0-9._:@-]{1,128}$/;

export interface TokenSubject {
  /** User id (`sub`). */
  id: string;
  name: string;
  /** ODS code (`org`). */
  org: string;
  /** Role code (`role`). */
  role: string;
}

export interface TokenServiceOptions {
  ttlSeconds?: number;
  now?: () => Date;
  /** Accept tokens issued by `icr token` (marked `icr_dev`). From `config.allowDevTokens`; default true. */
  acceptDevTokens?: boolean;
}

export class TokenService {
  readonly #key: Uint8Array;
  readonly #ttl: number;
  readonly #now: () => Date;
  readonly #acceptDev: boolean;

  constructor(secret: string | Uint8Array, opts: TokenServiceOptions = {}) {
    const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
    if (key.length < 32) throw new Error('The token secret must be at least 32 bytes');
    this.#key = key;
    this.#ttl = opts.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
    this.#now = opts.now ?? (() => new Date());
    this.#acceptDev = opts.acceptDevTokens ?? true;
  }

  /** The configured secret, or the one kept in `<dataDir>/token-secret` (created on first use). */
  static fromConfig(
    config: Pick<Config, 'tokenSecret' | 'dataDir' | 'allowDevTokens'>,
    opts: TokenServiceOptions = {},
  ): TokenService {
    return new TokenService(config.tokenSecret ?? loadOrCreateSecret(config.dataDir), {
      acceptDevTokens: config.allowDevTokens,
      ...opts,
    });
  }

  /** Issues a token. `dev` (default true) marks a script/test token, refused when dev tokens are disabled. */
  async issue(subject: TokenSubject, opts: { ttlSeconds?: number; dev?: boolean } = {}): Promise<string> {
    for (const [k, v] of [
      ['id', subject.id],
      ['org', subject.org],
      ['role', subject.role],
    ] as const) {
      if (!CLAIM_PATTERN.test(v)) throw new IcrError('ICR_BAD_REQUEST', `Token ${k} "${v}" is not a valid identifier`);
    }
    const iat = Math.floor(this.#now().getTime() / 1000);
    const claims: Record<string, unknown> = { org: subject.org, role: subject.role, name: subject.name };
    if (opts.dev ?? true) claims.icr_dev = true;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(subject.id)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setIssuedAt(iat)
      .setExpirationTime(iat + (opts.ttlSeconds ?? this.#ttl))
      .sign(this.#key);
  }

  /** Verifies a token and returns the actor it names; throws ICR_UNAUTHENTICATED (never saying why in detail). */
  async verify(token: string): Promise<UserActor> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.#key, {
        algorithms: ['HS256'],
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        requiredClaims: ['sub', 'exp', 'org', 'role'],
        currentDate: this.#now(),
        clockTolerance: 30,
      }));
    } catch (err) {
      throw new IcrError('ICR_UNAUTHENTICATED', 'The bearer token is invalid or has expired', { cause: err });
    }
    const { sub, org, role, name, icr_dev: dev } = payload;
    if (dev === true && !this.#acceptDev) {
      throw new IcrError('ICR_UNAUTHENTICATED', 'Development tokens are not accepted by this server');
    }
    if (typeof sub !== 'string' || typeof org !== 'string' || typeof role !== 'string') {
      throw new IcrError('ICR_UNAUTHENTICATED', 'The bearer token lacks the required claims');
    }
    if (![sub, org, role].every((v) => CLAIM_PATTERN.test(v))) {
      throw new IcrError('ICR_UNAUTHENTICATED', 'The bearer token has malformed claims');
    }
    const actor: UserActor = { kind: 'user', userId: sub, orgOds: org, role };
    if (typeof name === 'string') actor.displayName = name;
    return actor;
  }
}

/** Reads `<dataDir>/token-secret`, creating it (32 random bytes, mode 0600) when absent. */
export function loadOrCreateSecret(dataDir: string): string {
  const file = path.join(dataDir, SECRET_FILE);
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
