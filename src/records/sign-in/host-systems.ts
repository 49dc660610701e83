/**
 * Host systems (EPRs, social care systems) registered to launch the record in context
 * (`icr systems add <id> --org <ods> --jwks <file-or-url>`), and their launch keys.
 */
import { createLocalJWKSet, createRemoteJWKSet, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { IcrError } from '../../shared/errors.ts';
import type { Db } from '../../store/db.ts';
import { findHostSystem, listHostSystems, upsertHostSystem, type HostSystemRow } from '../../store/sign-in-store.ts';

export type { HostSystemRow };

const ID = /^[A-Za-z0-9._:-]{1,64}$/;
const ODS = /^[A-Z0-9]{3,10}$/;

/** Checks a JWKS a host system gives: public EC or RSA signing keys only (a private key is refused). */
export function parseHostJwks(text: string, where: string): JSONWebKeySet {
  let jwks: unknown;
  try {
    jwks = JSON.parse(text);
  } catch {
    throw new IcrError('ICR_BAD_REQUEST', `${where} is not JSON`);
  }
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new IcrError('ICR_BAD_REQUEST', `${where} is not a JWKS: it needs a non-empty "keys" array`);
  }
  keys.forEach((k: unknown, i) => {
    const key = k as Record<string, unknown> | null;
    if (typeof key !== 'object' || key === null) {
      throw new IcrError('ICR_BAD_REQUEST', `${where}: keys[${i}] is not an object`);
    }
    if (key.kty !== 'EC' && key.kty !== 'RSA') {
      throw new IcrError('ICR_BAD_REQUEST', `${where}: keys[${i}] must be an EC or RSA key (kty)`);
    }
    for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) {
      if (secret in key) {
        throw new IcrError(
          'ICR_BAD_REQUEST',
          `${where}: keys[${i}] holds a private key ("${secret}"); register the public keys only`,
        );
      }
    }
  });
  return jwks as JSONWebKeySet;
}

export interface NewHostSystem {
  id: string;
  org: string;
  /** The JWKS text (from a file), or undefined when `jwksUrl` is given. */
  jwks?: string;
  jwksUrl?: string;
  /** Origin allowed to embed the viewer in a frame (CSP frame-ancestors). */
  frameOrigin?: string;
}

export async function registerHostSystem(db: Db, s: NewHostSystem): Promise<void> {
  if (!ID.test(s.id))
    throw new IcrError('ICR_BAD_REQUEST', `System id "${s.id}" must be 1–64 letters, digits, . _ : -`);
  if (!ODS.test(s.org)) throw new IcrError('ICR_BAD_REQUEST', `Organisation "${s.org}" is not an ODS code`);
  if ((s.jwks === undefined) === (s.jwksUrl === undefined)) {
    throw new IcrError('ICR_BAD_REQUEST', 'Give the system’s keys as a JWKS file or as a URL, not both');
  }
  if (s.jwksUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(s.jwksUrl)) {
    throw new IcrError('ICR_BAD_REQUEST', 'The JWKS URL must be an http(s) URL');
  }
  if (s.jwks !== undefined) parseHostJwks(s.jwks, 'The JWKS');
  let frameOrigin: string | null = null;
  if (s.frameOrigin !== undefined) {
    const u = URL.parse(s.frameOrigin);
    if (!u || (u.protocol !== 'https:' && u.protocol !== 'http:') || u.origin !== s.frameOrigin.replace(/\/$/, '')) {
      throw new IcrError('ICR_BAD_REQUEST', 'The frame origin must be an origin such as https://epr.example.nhs.uk');
    }
    frameOrigin = u.origin;
  }
  await upsertHostSystem(db, {
    id: s.id,
    org: s.org,
    jwks: s.jwks === undefined ? null : JSON.stringify(JSON.parse(s.jwks)),
    jwksUrl: s.jwksUrl ?? null,
    frameOrigin,
  });
}

export { findHostSystem, listHostSystems };

/** Key getters per host system; a system's JWKS URL is fetched (and cached) by jose. */
export class HostSystemKeys {
  readonly #db: Db;
  readonly #remote = new Map<string, { url: string; get: JWTVerifyGetKey }>();

  constructor(db: Db) {
    this.#db = db;
  }

  async system(id: string): Promise<HostSystemRow | null> {
    return findHostSystem(this.#db, id);
  }

  keysOf(system: HostSystemRow): JWTVerifyGetKey {
    if (system.jwks !== null) return createLocalJWKSet(JSON.parse(system.jwks) as JSONWebKeySet);
    const url = system.jwksUrl ?? '';
    const cached = this.#remote.get(system.id);
    if (cached && cached.url === url) return cached.get;
    const get = createRemoteJWKSet(new URL(url), { timeoutDuration: 5000, cooldownDuration: 30_000 });
    this.#remote.set(system.id, { url, get });
    return get;
  }
}
