/**
 * SQL for the SMART authorization server (migration 0012): registered apps, launch contexts, codes,
 * refresh tokens (all by SHA-256 hash) and used client assertion ids. No rules here: the use cases are in
 * src/records/sign-in/smart-service.ts. Every "use once" is one conditional UPDATE, so two concurrent uses
 * cannot both succeed, on PGlite or PostgreSQL.
 */
import type { Db } from './db.ts';

export interface SmartAppRow {
  clientId: string;
  name: string;
  redirectUris: string[];
  launchUri: string | null;
  jwks: string | null;
  /** Browser origins the app runs in (CORS, migration 0020); empty: none. */
  allowedOrigins?: string[];
}

interface RawApp {
  client_id: string;
  name: string;
  redirect_uris: string;
  launch_uri: string | null;
  jwks: string | null;
  allowed_origins: string | null;
}

const toApp = (r: RawApp): SmartAppRow => ({
  clientId: r.client_id,
  name: r.name,
  redirectUris: JSON.parse(r.redirect_uris) as string[],
  launchUri: r.launch_uri,
  jwks: r.jwks,
  allowedOrigins: r.allowed_origins === null ? [] : (JSON.parse(r.allowed_origins) as string[]),
});

export async function upsertSmartApp(db: Db, a: SmartAppRow): Promise<void> {
  await db.query(
    `insert into smart_app (client_id, name, redirect_uris, launch_uri, jwks, allowed_origins)
     values ($1, $2, $3, $4, $5, $6)
     on conflict (client_id) do update set name = excluded.name, redirect_uris = excluded.redirect_uris,
       launch_uri = excluded.launch_uri, jwks = excluded.jwks, allowed_origins = excluded.allowed_origins`,
    [
      a.clientId,
      a.name,
      JSON.stringify(a.redirectUris),
      a.launchUri,
      a.jwks,
      a.allowedOrigins && a.allowedOrigins.length > 0 ? JSON.stringify(a.allowedOrigins) : null,
    ],
  );
}

export async function findSmartApp(db: Db, clientId: string): Promise<SmartAppRow | null> {
  const res = await db.query<RawApp>(
    'select client_id, name, redirect_uris, launch_uri, jwks, allowed_origins from smart_app where client_id = $1',
    [clientId],
  );
  const row = res.rows[0];
  return row ? toApp(row) : null;
}

export async function listSmartApps(db: Db): Promise<SmartAppRow[]> {
  const res = await db.query<RawApp>(
    'select client_id, name, redirect_uris, launch_uri, jwks, allowed_origins from smart_app order by client_id',
  );
  return res.rows.map(toApp);
}

export async function setBackendRole(db: Db, systemId: string, role: string | null): Promise<void> {
  await db.query('update host_system set backend_role = $2 where id = $1', [systemId, role]);
}

/** Links a host system to the FHIR feed it sends as (null: none). */
export async function setHostFeed(db: Db, systemId: string, feedId: string | null): Promise<void> {
  await db.query('update host_system set feed_id = $2 where id = $1', [systemId, feedId]);
}

/** The FHIR feed a host system sends as, or null. */
export async function hostFeedOf(db: Db, systemId: string): Promise<string | null> {
  const res = await db.query<{ feed_id: string | null }>('select feed_id from host_system where id = $1', [systemId]);
  return res.rows[0]?.feed_id ?? null;
}

/** Every origin some registered SMART app runs in (CORS). */
export async function allSmartAppOrigins(db: Db): Promise<string[]> {
  const res = await db.query<{ allowed_origins: string }>(
    'select allowed_origins from smart_app where allowed_origins is not null',
  );
  return [...new Set(res.rows.flatMap((r) => JSON.parse(r.allowed_origins) as string[]))];
}

export async function backendRoleOf(db: Db, systemId: string): Promise<string | null> {
  const res = await db.query<{ backend_role: string | null }>('select backend_role from host_system where id = $1', [
    systemId,
  ]);
  return res.rows[0]?.backend_role ?? null;
}

export async function insertLaunch(
  db: Db,
  l: { idHash: string; clientId: string; actor: string; patientId: string | null; expiresAt: Date },
): Promise<void> {
  await db.query(
    'insert into smart_launch (id_hash, client_id, actor, patient_id, expires_at) values ($1, $2, $3, $4, $5)',
    [l.idHash, l.clientId, l.actor, l.patientId, l.expiresAt],
  );
}

/** Uses a launch context once: the row when it was unused and unexpired, otherwise null. */
export async function useLaunch(
  db: Db,
  idHash: string,
  now: Date,
): Promise<{ clientId: string; actor: string; patientId: string | null } | null> {
  await db.query('delete from smart_launch where expires_at < $1', [new Date(now.getTime() - 3600_000)]);
  const res = await db.query<{ client_id: string; actor: string; patient_id: string | null }>(
    `update smart_launch set used_at = $2 where id_hash = $1 and used_at is null and expires_at > $2
     returning client_id, actor, patient_id`,
    [idHash, now],
  );
  const r = res.rows[0];
  return r ? { clientId: r.client_id, actor: r.actor, patientId: r.patient_id } : null;
}

export interface CodeRow {
  familyId: string;
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  scope: string;
  actor: string;
  patientId: string | null;
  personId: string | null;
  nonce: string | null;
  expiresAt: Date;
}

export async function insertCode(db: Db, codeHash: string, c: CodeRow): Promise<void> {
  await db.query(
    `insert into smart_code (code_hash, family_id, client_id, redirect_uri, code_challenge, scope, actor, patient_id,
       person_id, nonce, expires_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      codeHash,
      c.familyId,
      c.clientId,
      c.redirectUri,
      c.codeChallenge,
      c.scope,
      c.actor,
      c.patientId,
      c.personId,
      c.nonce,
      c.expiresAt,
    ],
  );
}

interface RawCode {
  family_id: string;
  client_id: string;
  redirect_uri: string;
  code_challenge: string;
  scope: string;
  actor: string;
  patient_id: string | null;
  person_id: string | null;
  nonce: string | null;
  expires_at: Date | string;
}

const toCode = (r: RawCode): CodeRow => ({
  familyId: r.family_id,
  clientId: r.client_id,
  redirectUri: r.redirect_uri,
  codeChallenge: r.code_challenge,
  scope: r.scope,
  actor: r.actor,
  patientId: r.patient_id,
  personId: r.person_id,
  nonce: r.nonce,
  expiresAt: r.expires_at instanceof Date ? r.expires_at : new Date(r.expires_at),
});

/**
 * Uses a code once. `used`: the code exists and was used before (a replay: the caller revokes its family);
 * `fresh`: first use (returned whatever its expiry, for the caller to check); null: no such code.
 */
export async function useCode(
  db: Db,
  codeHash: string,
  now: Date,
): Promise<{ state: 'fresh'; code: CodeRow } | { state: 'used'; familyId: string } | null> {
  await db.query('delete from smart_code where expires_at < $1', [new Date(now.getTime() - 86_400_000)]);
  const res = await db.query<RawCode>(
    `update smart_code set used_at = $2 where code_hash = $1 and used_at is null
     returning family_id, client_id, redirect_uri, code_challenge, scope, actor, patient_id, person_id, nonce, expires_at`,
    [codeHash, now],
  );
  const r = res.rows[0];
  if (r) return { state: 'fresh', code: toCode(r) };
  const used = await db.query<{ family_id: string }>('select family_id from smart_code where code_hash = $1', [
    codeHash,
  ]);
  const u = used.rows[0];
  return u ? { state: 'used', familyId: u.family_id } : null;
}

export interface RefreshRow {
  familyId: string;
  clientId: string;
  scope: string;
  actor: string;
  patientId: string | null;
  personId: string | null;
  expiresAt: Date;
}

export async function insertRefresh(db: Db, tokenHash: string, r: RefreshRow): Promise<void> {
  await db.query(
    `insert into smart_refresh (token_hash, family_id, client_id, scope, actor, patient_id, person_id, expires_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [tokenHash, r.familyId, r.clientId, r.scope, r.actor, r.patientId, r.personId, r.expiresAt],
  );
}

interface RawRefresh {
  family_id: string;
  client_id: string;
  scope: string;
  actor: string;
  patient_id: string | null;
  person_id: string | null;
  expires_at: Date | string;
}

/**
 * Uses a refresh token once (rotation). `fresh`: it was live (now retired); `reused`: it was retired or
 * revoked before (the caller revokes the family); null: unknown or expired.
 */
export async function useRefresh(
  db: Db,
  tokenHash: string,
  now: Date,
): Promise<{ state: 'fresh'; row: RefreshRow } | { state: 'reused'; familyId: string; clientId: string } | null> {
  const res = await db.query<RawRefresh>(
    `update smart_refresh set used_at = $2
      where token_hash = $1 and used_at is null and revoked_at is null and expires_at > $2
     returning family_id, client_id, scope, actor, patient_id, person_id, expires_at`,
    [tokenHash, now],
  );
  const r = res.rows[0];
  if (r) {
    return {
      state: 'fresh',
      row: {
        familyId: r.family_id,
        clientId: r.client_id,
        scope: r.scope,
        actor: r.actor,
        patientId: r.patient_id,
        personId: r.person_id,
        expiresAt: r.expires_at instanceof Date ? r.expires_at : new Date(r.expires_at),
      },
    };
  }
  const old = await db.query<{ family_id: string; client_id: string; expires_at: Date | string }>(
    'select family_id, client_id, expires_at from smart_refresh where token_hash = $1',
    [tokenHash],
  );
  const o = old.rows[0];
  if (!o || new Date(o.expires_at) <= now) return null;
  return { state: 'reused', familyId: o.family_id, clientId: o.client_id };
}

/** Revokes every refresh token of a family (a replayed code or rotated refresh token). */
export async function revokeFamily(db: Db, familyId: string, now: Date): Promise<number> {
  const res = await db.query('update smart_refresh set revoked_at = $2 where family_id = $1 and revoked_at is null', [
    familyId,
    now,
  ]);
  return res.rowCount;
}

/** Remembers a client assertion id until it expires; false when it was used before (a replay). */
export async function useAssertionJti(
  db: Db,
  clientId: string,
  jti: string,
  expiresAt: Date,
  now: Date,
): Promise<boolean> {
  await db.query('delete from client_assertion_jti where expires_at < $1', [now]);
  const res = await db.query(
    `insert into client_assertion_jti (client_id, jti, expires_at) values ($1, $2, $3)
     on conflict (client_id, jti) do nothing`,
    [clientId, jti, expiresAt],
  );
  return res.rowCount === 1;
}

/** The client a refresh token was issued to (to authenticate a public app that sends no client_id). */
export async function refreshClientOf(db: Db, tokenHash: string): Promise<string | null> {
  const res = await db.query<{ client_id: string }>('select client_id from smart_refresh where token_hash = $1', [
    tokenHash,
  ]);
  return res.rows[0]?.client_id ?? null;
}
