/**
 * Context launch tokens (DESIGN.md §4 "context launch"): a host system signs a short-lived JWS naming the
 * user, their role profile and the person, and the browser brings it to `GET /launch?token=…`. This file
 * checks one token against the system's keys and says precisely why it is refused; single use (`jti`),
 * users and the person are checked by the use case (src/records/sign-in/launch.ts). No I/O here beyond
 * what the key getter does.
 */
import { decodeJwt, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from 'jose';

/** Why a launch was refused; stable codes shown on the page and recorded in the audit. */
export const LAUNCH_REFUSALS = {
  malformed: 'The launch token is not a well-formed signed token.',
  'unknown-system': 'The launch token comes from a host system that is not registered.',
  'unknown-key': 'The launch token is signed with a key the host system has not registered.',
  'unsupported-algorithm': 'The launch token is not signed with ES256 or RS256.',
  tampered: 'The launch token has been altered: its signature does not match.',
  expired: 'The launch token has expired. Launch again from your system.',
  'not-yet-valid': 'The launch token was issued in the future (check the host system clock).',
  'too-long-lived': 'The launch token lives longer than 5 minutes.',
  'wrong-audience': 'The launch token was issued for another server.',
  'missing-claims':
    'The launch token lacks a required claim (iss, aud, sub, name, org, role, patient_nhs_number, iat, exp, jti).',
  'wrong-organisation': 'The launch token names an organisation the host system is not registered for.',
  replayed: 'The launch token has already been used. Launch again from your system.',
  'unknown-user': 'The user named by the launch token is not configured, or is disabled.',
  'no-role-profile': 'The user does not hold the role named by the launch token at that organisation.',
  'no-such-person': 'No record is held for the NHS number the host system sent.',
} as const;

export type LaunchRefusal = keyof typeof LAUNCH_REFUSALS;

export class LaunchRefused extends Error {
  readonly reason: LaunchRefusal;
  constructor(reason: LaunchRefusal, options?: { cause?: unknown }) {
    super(LAUNCH_REFUSALS[reason], options);
    this.name = 'LaunchRefused';
    this.reason = reason;
  }
}

export interface LaunchClaims {
  /** The host system id. */
  iss: string;
  /** The user id. */
  sub: string;
  name: string;
  /** ODS code. */
  org: string;
  /** Role code. */
  role: string;
  patientNhsNumber: string;
  iat: number;
  exp: number;
  jti: string;
}

export const LAUNCH_MAX_LIFETIME_SECONDS = 300;
export const LAUNCH_ALGORITHMS = ['ES256', 'RS256'];
const ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/** The `iss` of a token before it is verified (to find the system's keys), or null when unreadable. */
export function unverifiedIssuer(token: string): string | null {
  try {
    const { iss } = decodeJwt(token);
    return typeof iss === 'string' && ID.test(iss) ? iss : null;
  } catch {
    return null;
  }
}

function refusalFor(err: unknown): LaunchRefusal {
  if (err instanceof LaunchRefused) return err.reason;
  if (err instanceof joseErrors.JWTExpired) return 'expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'wrong-audience';
    if (err.claim === 'iat' || err.claim === 'nbf') return 'not-yet-valid';
    return err.reason === 'missing' ? 'missing-claims' : 'malformed';
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'tampered';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'unknown-key';
  if (err instanceof joseErrors.JOSEAlgNotAllowed || err instanceof joseErrors.JOSENotSupported) {
    return 'unsupported-algorithm';
  }
  return 'malformed';
}

/**
 * Verifies a launch token's signature and claims. `keysOf(iss)` gives the registered system's key getter
 * (null: not registered). Throws LaunchRefused with the reason.
 */
export async function verifyLaunchToken(
  token: string,
  opts: { audience: string; now: Date; keysOf: (iss: string) => Promise<JWTVerifyGetKey | null> },
): Promise<LaunchClaims> {
  try {
    if (token.length > 8192 || !/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) {
      throw new LaunchRefused('malformed');
    }
    const iss = unverifiedIssuer(token);
    if (iss === null) throw new LaunchRefused('malformed');
    const keys = await opts.keysOf(iss);
    if (!keys) throw new LaunchRefused('unknown-system');
    const { payload } = await jwtVerify(token, keys, {
      algorithms: LAUNCH_ALGORITHMS,
      issuer: iss,
      audience: opts.audience,
      currentDate: opts.now,
      clockTolerance: 30,
      requiredClaims: ['iss', 'aud', 'sub', 'iat', 'exp', 'jti'],
    });
    const { sub, name, org, role, patient_nhs_number: nhs, iat, exp, jti } = payload;
    if (
      typeof sub !== 'string' ||
      typeof name !== 'string' ||
      typeof org !== 'string' ||
      typeof role !== 'string' ||
      typeof nhs !== 'string' ||
      typeof iat !== 'number' ||
      typeof exp !== 'number' ||
      typeof jti !== 'string'
    ) {
      throw new LaunchRefused('missing-claims');
    }
    if (![sub, org, role].every((v) => ID.test(v)) || !/^\d{10}$/.test(nhs) || jti.length < 8 || jti.length > 256) {
      throw new LaunchRefused('malformed');
    }
    if (iat > opts.now.getTime() / 1000 + 30) throw new LaunchRefused('not-yet-valid');
    if (exp - iat > LAUNCH_MAX_LIFETIME_SECONDS) throw new LaunchRefused('too-long-lived');
    return { iss, sub, name: name.slice(0, 200), org, role, patientNhsNumber: nhs, iat, exp, jti };
  } catch (err) {
    if (err instanceof LaunchRefused) throw err;
    throw new LaunchRefused(refusalFor(err), { cause: err });
  }
}
