/**
 * SMART App Launch 2 and SMART backend services: the pure rules of the authorization server (no I/O beyond
 * what a key getter does). Which scopes exist and what they grant, PKCE (S256 only), exact redirect URI
 * matching, and the check of a signed client assertion (`private_key_jwt`). The use cases that store codes
 * and refresh tokens and audit every step are in src/records/sign-in/smart-service.ts. See docs/sign-in.md
 * and docs/adr/0028-smart-authorization-server.md.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';

/** An OAuth 2.0 error (RFC 6749 §5.2 / §4.1.2.1): `error` code and a description safe to show. */
export class OAuthError extends Error {
  readonly error: string;
  /** HTTP status at the token endpoint (401 for a client that failed to authenticate). */
  readonly status: number;
  /** The stable reason recorded in the audit trail. */
  readonly reason: string;
  constructor(error: string, description: string, opts: { status?: number; reason?: string; cause?: unknown } = {}) {
    super(description, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'OAuthError';
    this.error = error;
    this.status = opts.status ?? (error === 'invalid_client' ? 401 : 400);
    this.reason = opts.reason ?? error;
  }
}

/** Scopes that carry no data access of their own. */
export const CONTEXT_SCOPES = ['launch', 'launch/patient', 'openid', 'fhirUser', 'offline_access', 'online_access'];
/** Data scopes: SMART v2 (`.rs`) and their v1 equivalents (`.read`); all resource types only. */
export const DATA_SCOPES = ['patient/*.rs', 'user/*.rs', 'patient/*.read', 'user/*.read'];
export const SYSTEM_SCOPES = ['system/*.rs', 'system/*.read'];
/**
 * The write scope of a host system sending a FHIR feed (ADR 0044): create and update (a transaction or
 * batch Bundle, a create, an update), never delete, read or search.
 */
export const SYSTEM_WRITE_SCOPE = 'system/*.cu';
/**
 * Wider write scopes a client may ask for, granted as `system/*.cu` (SMART v2 lets the server grant less
 * than asked; the token response's `scope` says what was granted).
 */
export const NARROWED_TO_WRITE = ['system/*.cud', 'system/*.write'];
/** Exactly the scopes this server grants (advertised in the SMART configuration). */
export const SUPPORTED_SCOPES = [...CONTEXT_SCOPES, ...DATA_SCOPES, ...SYSTEM_SCOPES, SYSTEM_WRITE_SCOPE];

export interface GrantedScopes {
  /** The granted scopes, space separated, in the order asked (what the token response's `scope` says). */
  scope: string;
  /** `patient/*.rs`: the token reads one person only. */
  patient: boolean;
  /** `user/*.rs`: the user's own access, read only. */
  user: boolean;
  /** `system/*.rs`: backend services. */
  system: boolean;
  /** `system/*.cu`: a host system writing as the FHIR feed it sends (backend services only). */
  systemWrite: boolean;
  launch: boolean;
  launchPatient: boolean;
  openid: boolean;
  fhirUser: boolean;
  /** `offline_access` or `online_access`: a refresh token is issued. */
  refresh: boolean;
}

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;

/**
 * The scopes granted for a request: the supported ones among those asked (others are dropped, as OAuth
 * allows: the response says what was granted). `kind` limits which data scopes a grant may carry.
 */
export function grantScopes(requested: string, kind: 'app' | 'backend'): GrantedScopes {
  const asked = requested.split(' ').filter((s) => s !== '');
  if (asked.length > 50 || asked.some((s) => !SCOPE_TOKEN.test(s))) {
    throw new OAuthError('invalid_scope', 'The scope parameter is malformed');
  }
  const allowed = new Set(
    kind === 'app' ? [...CONTEXT_SCOPES, ...DATA_SCOPES] : [...SYSTEM_SCOPES, SYSTEM_WRITE_SCOPE],
  );
  const narrowed = asked.map((s) => (kind === 'backend' && NARROWED_TO_WRITE.includes(s) ? SYSTEM_WRITE_SCOPE : s));
  const granted = [...new Set(narrowed.filter((s) => allowed.has(s)))];
  const has = (...s: string[]) => s.some((x) => granted.includes(x));
  const g: GrantedScopes = {
    scope: granted.join(' '),
    patient: has('patient/*.rs', 'patient/*.read'),
    user: has('user/*.rs', 'user/*.read'),
    system: has('system/*.rs', 'system/*.read'),
    systemWrite: has(SYSTEM_WRITE_SCOPE),
    launch: has('launch'),
    launchPatient: has('launch/patient'),
    openid: has('openid'),
    fhirUser: has('fhirUser'),
    refresh: has('offline_access', 'online_access'),
  };
  if (!g.patient && !g.user && !g.system && !g.systemWrite) {
    throw new OAuthError(
      'invalid_scope',
      kind === 'app'
        ? 'Ask for patient/*.rs or user/*.rs (or v1 patient/*.read, user/*.read): no other data scope is supported'
        : 'Ask for system/*.rs (or v1 system/*.read) to read, or system/*.cu to write as your FHIR feed: no other data scope is supported',
    );
  }
  if (g.system && g.systemWrite) {
    throw new OAuthError(
      'invalid_scope',
      'Ask for system/*.rs and system/*.cu in separate tokens: a feed’s token writes only, a reading token reads only',
      { reason: 'read-and-write' },
    );
  }
  return g;
}

/** The BASE64URL(SHA-256(verifier)) of a PKCE code verifier (RFC 7636 §4.2). */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** Checks the PKCE parameters of an authorization request: S256 is required, `plain` is refused. */
export function checkCodeChallenge(challenge: string | undefined, method: string | undefined): string {
  if (challenge === undefined || challenge === '') {
    throw new OAuthError('invalid_request', 'PKCE is required: send code_challenge with code_challenge_method=S256');
  }
  if (method !== 'S256') {
    throw new OAuthError('invalid_request', 'Only code_challenge_method=S256 is accepted (plain is refused)');
  }
  if (!CHALLENGE.test(challenge)) throw new OAuthError('invalid_request', 'The code_challenge is malformed');
  return challenge;
}

/** Whether a code verifier matches the challenge the code was issued for (constant time). */
export function verifierMatches(verifier: string | undefined, challenge: string): boolean {
  if (verifier === undefined || !VERIFIER.test(verifier)) return false;
  const a = Buffer.from(s256(verifier));
  const b = Buffer.from(challenge);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A redirect URI must equal one registered for the app, character for character (no prefix matching). */
export function redirectAllowed(registered: readonly string[], given: string | undefined): given is string {
  return given !== undefined && registered.includes(given);
}

/** Checks a redirect URI an operator registers: absolute https, or http on the loopback interface only. */
export function checkRedirectUri(uri: string): string {
  const u = URL.parse(uri);
  const loopback = u !== null && u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  if (!u || (u.protocol !== 'https:' && !loopback) || u.hash !== '' || u.username !== '' || u.password !== '') {
    throw new Error(
      `"${uri.slice(0, 200)}" must be an absolute https URL (http only on the loopback interface), no fragment`,
    );
  }
  return uri;
}

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Algorithms of a client assertion (SMART backend services: ES384 and RS384 SHALL; ES256 for our host systems). */
export const ASSERTION_ALGORITHMS = ['ES256', 'ES384', 'RS384'];
export const ASSERTION_MAX_LIFETIME_SECONDS = 300;
const ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface VerifiedAssertion {
  clientId: string;
  jti: string;
  exp: number;
}

/** The `iss` of an assertion before it is verified (to find the client's keys), or null. */
export function assertionIssuer(assertion: string): string | null {
  try {
    const { iss } = decodeJwt(assertion);
    return typeof iss === 'string' && ID.test(iss) ? iss : null;
  } catch {
    return null;
  }
}

/**
 * Verifies a client assertion (RFC 7523, SMART backend services): signed by one of the client's registered
 * keys with an allowed algorithm, `iss` = `sub` = the client id, `aud` = the token endpoint, `exp` at most
 * 5 minutes ahead, a `jti`. Single use is the caller's (it needs the store). Throws OAuthError
 * `invalid_client` with a stable reason.
 */
export async function verifyClientAssertion(
  assertion: string,
  opts: { tokenEndpoint: string; now: Date; keysOf: (clientId: string) => Promise<JWTVerifyGetKey | null> },
): Promise<VerifiedAssertion> {
  const refuse = (reason: string, text: string, cause?: unknown): OAuthError =>
    new OAuthError('invalid_client', text, { reason, cause });
  if (assertion.length > 8192 || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(assertion)) {
    throw refuse('malformed', 'The client assertion is not a well-formed signed token');
  }
  let alg: string | undefined;
  try {
    alg = decodeProtectedHeader(assertion).alg;
  } catch (err) {
    throw refuse('malformed', 'The client assertion is not a well-formed signed token', err);
  }
  if (alg === undefined || !ASSERTION_ALGORITHMS.includes(alg)) {
    throw refuse(
      'unsupported-algorithm',
      `The client assertion must be signed with ${ASSERTION_ALGORITHMS.join(', ')}`,
    );
  }
  const iss = assertionIssuer(assertion);
  if (iss === null) throw refuse('malformed', 'The client assertion has no valid iss');
  const keys = await opts.keysOf(iss);
  if (!keys) throw refuse('unknown-client', 'The client is not registered for this grant');
  let payload;
  try {
    ({ payload } = await jwtVerify(assertion, keys, {
      algorithms: ASSERTION_ALGORITHMS,
      issuer: iss,
      subject: iss,
      audience: opts.tokenEndpoint,
      currentDate: opts.now,
      clockTolerance: 30,
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'jti'],
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw refuse('expired', 'The client assertion has expired', err);
    if (err instanceof joseErrors.JWTClaimValidationFailed) {
      if (err.claim === 'aud')
        throw refuse('wrong-audience', 'The client assertion is not for this token endpoint', err);
      throw refuse('bad-claims', `The client assertion's ${err.claim} claim is invalid`, err);
    }
    if (err instanceof joseErrors.JWKSNoMatchingKey) throw refuse('unknown-key', 'No registered key matches', err);
    throw refuse('bad-signature', 'The client assertion signature does not verify', err);
  }
  const { jti, exp, iat } = payload;
  if (typeof jti !== 'string' || jti.length < 8 || jti.length > 256 || typeof exp !== 'number') {
    throw refuse('bad-claims', 'The client assertion needs a jti of 8 to 256 characters and an exp');
  }
  const now = opts.now.getTime() / 1000;
  if (
    exp - now > ASSERTION_MAX_LIFETIME_SECONDS + 30 ||
    (typeof iat === 'number' && exp - iat > ASSERTION_MAX_LIFETIME_SECONDS)
  ) {
    throw refuse('too-long-lived', 'The client assertion may live 5 minutes at most');
  }
  return { clientId: iss, jti, exp };
}
