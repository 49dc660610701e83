/**
 * SQL for sign-in and launch (migration 0009): the server's signing keys, host systems, used launch token
 * ids and browser sessions. No rules here: the use cases are in src/records/sign-in/.
 */
import type { Db } from './db.ts';

export interface SigningKeyRow {
  kid: string;
  alg: 'ES256' | 'RS256';
  publicJwk: string;
  privateJwk: string;
  createdAt: Date;
  retiredAt: Date | null;
  verifyUntil: Date | null;
}

interface RawKey {
  kid: string;
  alg: 'ES256' | 'RS256';
  public_jwk: string;
  private_jwk: string;
  created_at: Date | string;
  retired_at: Date | string | null;
  verify_until: Date | string | null;
}

const date = (v: Date | string): Date => (v instanceof Date ? v : new Date(v));
const dateOrNull = (v: Date | string | null): Date | null => (v === null ? null : date(v));

/** Keys still usable for verification at `now` (the active one first). */
export async function listLiveSigningKeys(db: Db, now: Date): Promise<SigningKeyRow[]> {
  const res = await db.query<RawKey>(
    `select kid, alg, public_jwk, private_jwk, created_at, retired_at, verify_until
       from signing_key
      where verify_until is null or verify_until > $1
      order by (retired_at is null) desc, created_at desc`,
    [now],
  );
  return res.rows.map((r) => ({
    kid: r.kid,
    alg: r.alg,
    publicJwk: r.public_jwk,
    privateJwk: r.private_jwk,
    createdAt: date(r.created_at),
    retiredAt: dateOrNull(r.retired_at),
    verifyUntil: dateOrNull(r.verify_until),
  }));
}

/**
 * Adds a new active key and retires the others, keeping each retired key for verification until
 * `verifyUntil` (the longest lifetime of a token it may have signed). One transaction.
 */
export async function insertActiveSigningKey(
  db: Db,
  key: { kid: string; alg: 'ES256' | 'RS256'; publicJwk: string; privateJwk: string },
  now: Date,
  verifyUntil: Date,
): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query('update signing_key set retired_at = $1, verify_until = $2 where retired_at is null', [
      now,
      verifyUntil,
    ]);
    await tx.query(
      'insert into signing_key (kid, alg, public_jwk, private_jwk, created_at) values ($1, $2, $3, $4, $5)',
      [key.kid, key.alg, key.publicJwk, key.privateJwk, now],
    );
  });
}

export interface HostSystemRow {
  id: string;
  org: string;
  jwks: string | null;
  jwksUrl: string | null;
  frameOrigin: string | null;
  createdAt: Date;
}

interface RawSystem {
  id: string;
  org: string;
  jwks: string | null;
  jwks_url: string | null;
  frame_origin: string | null;
  created_at: Date | string;
}

const toSystem = (r: RawSystem): HostSystemRow => ({
  id: r.id,
  org: r.org,
  jwks: r.jwks,
  jwksUrl: r.jwks_url,
  frameOrigin: r.frame_origin,
  createdAt: date(r.created_at),
});

/** Registers a host system, or replaces its organisation and keys when it exists. */
export async function upsertHostSystem(
  db: Db,
  s: { id: string; org: string; jwks: string | null; jwksUrl: string | null; frameOrigin: string | null },
): Promise<void> {
  await db.query(
    `insert into host_system (id, org, jwks, jwks_url, frame_origin) values ($1, $2, $3, $4, $5)
     on conflict (id) do update set org = excluded.org, jwks = excluded.jwks, jwks_url = excluded.jwks_url,
       frame_origin = excluded.frame_origin`,
    [s.id, s.org, s.jwks, s.jwksUrl, s.frameOrigin],
  );
}

export async function findHostSystem(db: Db, id: string): Promise<HostSystemRow | null> {
  const res = await db.query<RawSystem>(
    'select id, org, jwks, jwks_url, frame_origin, created_at from host_system where id = $1',
    [id],
  );
  const row = res.rows[0];
  return row ? toSystem(row) : null;
}

export async function listHostSystems(db: Db): Promise<HostSystemRow[]> {
  const res = await db.query<RawSystem>(
    'select id, org, jwks, jwks_url, frame_origin, created_at from host_system order by id',
  );
  return res.rows.map(toSystem);
}

/**
 * Remembers a launch token id until it expires. Returns false when it was already used (a replay).
 * Expired ids are swept on the way.
 */
export async function useLaunchJti(db: Db, iss: string, jti: string, expiresAt: Date, now: Date): Promise<boolean> {
  await db.query('delete from launch_jti where expires_at < $1', [now]);
  const res = await db.query(
    'insert into launch_jti (iss, jti, expires_at) values ($1, $2, $3) on conflict (iss, jti) do nothing',
    [iss, jti, expiresAt],
  );
  return res.rowCount === 1;
}

export async function readWebSession(db: Db, id: string, now: Date): Promise<string | null> {
  const res = await db.query<{ data: string }>('select data from web_session where id = $1 and expires_at > $2', [
    id,
    now,
  ]);
  return res.rows[0]?.data ?? null;
}

export async function writeWebSession(db: Db, id: string, data: string, expiresAt: Date): Promise<void> {
  await db.query(
    `insert into web_session (id, data, expires_at) values ($1, $2, $3)
     on conflict (id) do update set data = excluded.data, expires_at = excluded.expires_at`,
    [id, data, expiresAt],
  );
}

export async function deleteWebSession(db: Db, id: string): Promise<void> {
  await db.query('delete from web_session where id = $1', [id]);
}

export async function sweepWebSessions(db: Db, now: Date): Promise<number> {
  const res = await db.query('delete from web_session where expires_at <= $1', [now]);
  return res.rowCount;
}
