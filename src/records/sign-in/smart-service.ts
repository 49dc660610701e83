/**
 * The SMART authorization server's use cases (SMART App Launch 2, SMART backend services): EHR launch
 * contexts, the authorization request, the patient picker of a standalone launch, and the token endpoint's
 * three grants (authorization_code, refresh_token with rotation, client_credentials with a signed
 * assertion). Every step, allowed or refused, is audited on the same trail as the records service
 * (`smart-launch`, `smart-authorize`, `smart-token`). The pure rules are in src/auth/smart-rules.ts; the
 * narrowing a token carries is enforced by the access rules through the actor (ActorLimits). See
 * docs/sign-in.md and docs/adr/0028-smart-authorization-server.md.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import type { AuditLog } from '../../audit/audit-record.ts';
import {
  assertionIssuer,
  checkCodeChallenge,
  CLIENT_ASSERTION_TYPE,
  grantScopes,
  OAuthError,
  redirectAllowed,
  verifierMatches,
  verifyClientAssertion,
  type GrantedScopes,
} from '../../auth/smart-rules.ts';
import { practitionerIdOf } from '../../auth/fhir-user.ts';
import type { TokenService } from '../../auth/tokens.ts';
import type { Actor, RequestVia, SystemActor, UserActor } from '../../shared/actor.ts';
import { isIcrError } from '../../shared/errors.ts';
import { holdsProfile, type UserDirectory } from '../../shared/users.ts';
import type { Db } from '../../store/db.ts';
import { getFeed } from '../../store/feed-store.ts';
import {
  allSmartAppOrigins,
  backendRoleOf,
  findSmartApp,
  hostFeedOf,
  insertCode,
  insertLaunch,
  insertRefresh,
  refreshClientOf,
  revokeFamily,
  useAssertionJti,
  useCode,
  useLaunch,
  useRefresh,
  type SmartAppRow,
} from '../../store/smart-store.ts';
import type { RecordsService } from '../records-service.ts';
import { HostSystemKeys } from './host-systems.ts';
import { NHS_NUMBER_SYSTEM } from './sign-in-service.ts';

export const SMART_PATHS = { authorize: '/oauth/authorize', token: '/oauth/token' } as const;
/** Lifetimes (seconds). */
export const LAUNCH_SECONDS = 300;
export const CODE_SECONDS = 60;
export const APP_ACCESS_SECONDS = 3600;
export const BACKEND_ACCESS_SECONDS = 300;

export interface SmartServiceDeps {
  db: Db;
  records: RecordsService;
  users: UserDirectory;
  audit: AuditLog;
  tokens: TokenService;
  /** The server's public base URL; the FHIR base is `<publicUrl>/fhir`. */
  publicUrl: string;
  /** How long a refresh token family lives from its authorization (seconds). */
  refreshSeconds: number;
  now?: () => Date;
}

/** An authorization request waiting for the user to choose the person (standalone launch). */
export interface PendingAuthorization {
  clientId: string;
  appName: string;
  redirectUri: string;
  state: string;
  scope: string;
  codeChallenge: string;
  nonce?: string;
}

export type AuthorizeOutcome =
  { kind: 'redirect'; location: string } | { kind: 'pick-patient'; pending: PendingAuthorization };

/** An authorization request refused without redirecting (unknown client, unregistered redirect URI). */
export class AuthorizeRefused extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.name = 'AuthorizeRefused';
    this.reason = reason;
  }
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  patient?: string;
  need_patient_banner?: boolean;
  id_token?: string;
  refresh_token?: string;
}

interface StoredActor {
  userId: string;
  orgOds: string;
  role: string;
  displayName?: string;
}

const hash = (secret: string): string => createHash('sha256').update(secret).digest('base64url');
const secret = (): string => randomBytes(32).toString('base64url');
const OPAQUE = /^[A-Za-z0-9_-]{20,128}$/;
const PATIENT_ID = /^[A-Za-z0-9\-.]{1,64}$/;

function stored(actor: UserActor): string {
  const s: StoredActor = { userId: actor.userId, orgOds: actor.orgOds, role: actor.role };
  if (actor.displayName !== undefined) s.displayName = actor.displayName;
  return JSON.stringify(s);
}

function revive(text: string, via: RequestVia): UserActor {
  const s = JSON.parse(text) as StoredActor;
  const a: UserActor = { kind: 'user', userId: s.userId, orgOds: s.orgOds, role: s.role, via };
  if (s.displayName !== undefined) a.displayName = s.displayName;
  return a;
}

const sameProfile = (a: UserActor, b: UserActor): boolean =>
  a.userId === b.userId && a.orgOds === b.orgOds && a.role === b.role;

export class SmartService {
  readonly #d: SmartServiceDeps;
  readonly #now: () => Date;
  readonly #hostKeys: HostSystemKeys;

  constructor(deps: SmartServiceDeps) {
    this.#d = deps;
    this.#now = deps.now ?? (() => new Date());
    this.#hostKeys = new HostSystemKeys(deps.db);
  }

  get fhirBase(): string {
    return `${this.#d.publicUrl}/fhir`;
  }

  get tokenEndpoint(): string {
    return `${this.#d.publicUrl}${SMART_PATHS.token}`;
  }

  get authorizeEndpoint(): string {
    return `${this.#d.publicUrl}${SMART_PATHS.authorize}`;
  }

  async #audit(
    outcome: 'allowed' | 'refused',
    action: string,
    actor: Actor,
    what: string,
    extra: { patientId?: string | null; reason?: string } = {},
  ): Promise<void> {
    await this.#d.audit.record(this.#d.db, {
      action,
      outcome,
      actor,
      what,
      ...(extra.patientId === undefined ? {} : { patientId: extra.patientId }),
      ...(outcome === 'refused' ? { errorCode: 'ICR_SMART_REFUSED', reason: extra.reason ?? 'refused' } : {}),
    });
  }

  /** Whether a browser origin is registered for some SMART app (CORS, ADR 0044). */
  async allowsOrigin(origin: string): Promise<boolean> {
    return (await allSmartAppOrigins(this.#d.db)).includes(origin);
  }

  // --- EHR launch ---

  /**
   * Creates an EHR launch context for the signed-in user (their role profile) and the person they have
   * open, and returns the app's launch URL (`?iss=<FHIR base>&launch=<opaque id>`). Single use, 5 minutes.
   */
  async createLaunch(user: UserActor, clientId: string, patientId: string | null): Promise<string> {
    const app = await findSmartApp(this.#d.db, clientId);
    if (!app?.launchUri) {
      await this.#audit('refused', 'smart-launch', user, `app/${clientId.slice(0, 64)}`, { reason: 'unknown-app' });
      throw new AuthorizeRefused('unknown-app', 'There is no registered SMART app with a launch URL by that name.');
    }
    const id = secret();
    await insertLaunch(this.#d.db, {
      idHash: hash(id),
      clientId,
      actor: stored(user),
      patientId,
      expiresAt: new Date(this.#now().getTime() + LAUNCH_SECONDS * 1000),
    });
    await this.#audit('allowed', 'smart-launch', user, `app/${clientId}`, { patientId });
    const url = new URL(app.launchUri);
    url.searchParams.set('iss', this.fhirBase);
    url.searchParams.set('launch', id);
    return url.href;
  }

  // --- The authorization request ---

  /**
   * Handles `GET /oauth/authorize` for the signed-in `user`. `sessionPatientId`: the person the user's
   * session has open (a context launch), offered by the picker. Throws AuthorizeRefused (audited) when the
   * answer cannot go back to the app; other refusals redirect to the app with `error`.
   */
  async authorize(user: UserActor, q: URLSearchParams): Promise<AuthorizeOutcome> {
    const clientId = q.get('client_id') ?? '';
    const app = await findSmartApp(this.#d.db, clientId);
    const redirectUri = q.get('redirect_uri') ?? undefined;
    if (!app) {
      await this.#audit('refused', 'smart-authorize', user, `app/${clientId.slice(0, 64)}`, { reason: 'unknown-app' });
      throw new AuthorizeRefused('unknown-app', 'The app asking for access is not registered with this record.');
    }
    if (!redirectAllowed(app.redirectUris, redirectUri)) {
      await this.#audit('refused', 'smart-authorize', user, `app/${clientId}`, {
        reason: 'redirect-uri-not-registered',
      });
      throw new AuthorizeRefused(
        'redirect-uri-not-registered',
        'The app asked to return to an address that is not registered for it.',
      );
    }
    const state = q.get('state') ?? '';
    const back = (params: Record<string, string>): string => {
      const url = new URL(redirectUri);
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      if (state !== '') url.searchParams.set('state', state);
      return url.href;
    };
    try {
      if (q.get('response_type') !== 'code') {
        throw new OAuthError('unsupported_response_type', 'Only response_type=code is supported');
      }
      if (state === '' || state.length > 512)
        throw new OAuthError('invalid_request', 'A state (≤ 512 characters) is required');
      if (q.get('aud') !== this.fhirBase) {
        throw new OAuthError('invalid_request', `aud must be this server's FHIR base URL ${this.fhirBase}`, {
          reason: 'wrong-audience',
        });
      }
      const codeChallenge = checkCodeChallenge(
        q.get('code_challenge') ?? undefined,
        q.get('code_challenge_method') ?? undefined,
      );
      const granted = grantScopes(q.get('scope') ?? '', 'app');
      const nonce = q.get('nonce');
      if (nonce !== null && nonce.length > 512) throw new OAuthError('invalid_request', 'The nonce is too long');
      const pending: PendingAuthorization = {
        clientId,
        appName: app.name,
        redirectUri,
        state,
        scope: granted.scope,
        codeChallenge,
        ...(nonce === null ? {} : { nonce }),
      };
      const launch = q.get('launch');
      if (launch !== null) {
        if (!granted.launch) throw new OAuthError('invalid_scope', 'An EHR launch needs the launch scope');
        const ctx = OPAQUE.test(launch) ? await useLaunch(this.#d.db, hash(launch), this.#now()) : null;
        if (!ctx)
          throw new OAuthError('invalid_request', 'The launch context is unknown, expired or already used', {
            reason: 'bad-launch',
          });
        if (ctx.clientId !== clientId) {
          throw new OAuthError('invalid_request', 'The launch context was made for another app', {
            reason: 'bad-launch',
          });
        }
        if (!sameProfile(revive(ctx.actor, { channel: 'viewer' }), user)) {
          throw new OAuthError('access_denied', 'The launch context belongs to another user or role', {
            reason: 'launch-other-user',
          });
        }
        if ((granted.patient || granted.launchPatient) && ctx.patientId === null) {
          throw new OAuthError('access_denied', 'The launch has no person in context', { reason: 'no-patient' });
        }
        return { kind: 'redirect', location: back({ code: await this.#issueCode(user, pending, ctx.patientId) }) };
      }
      if (granted.patient || granted.launchPatient) return { kind: 'pick-patient', pending };
      return { kind: 'redirect', location: back({ code: await this.#issueCode(user, pending, null) }) };
    } catch (err) {
      const e = err instanceof OAuthError ? err : isIcrError(err) ? new OAuthError('access_denied', err.message) : null;
      if (!e) throw err;
      await this.#audit('refused', 'smart-authorize', user, `app/${clientId}`, { reason: e.reason });
      return { kind: 'redirect', location: back({ error: e.error, error_description: e.message }) };
    }
  }

  /**
   * Completes a standalone launch once the user has chosen the person: by NHS number (found through the
   * records service's search, access-checked and audited) or the Patient the session has open. Returns the
   * redirect to the app; throws IcrError ICR_NOT_FOUND when no such person is visible to the user.
   */
  async choosePatient(
    user: UserActor,
    pending: PendingAuthorization,
    choice: { nhsNumber?: string; patientId?: string },
  ): Promise<string> {
    let patientId: string | undefined;
    if (choice.patientId !== undefined && PATIENT_ID.test(choice.patientId)) {
      patientId = choice.patientId;
    } else if (choice.nhsNumber !== undefined && /^\d{10}$/.test(choice.nhsNumber.replace(/\s/g, ''))) {
      const params = new URLSearchParams({
        identifier: `${NHS_NUMBER_SYSTEM}|${choice.nhsNumber.replace(/\s/g, '')}`,
        _count: '1',
      });
      const bundle = JSON.parse(await this.#d.records.search(user, 'Patient', params, { baseUrl: this.fhirBase })) as {
        entry?: Array<{ resource?: { id?: string } }>;
      };
      patientId = bundle.entry?.[0]?.resource?.id;
    }
    const url = new URL(pending.redirectUri);
    url.searchParams.set('state', pending.state);
    if (patientId === undefined) {
      throw new OAuthError('invalid_request', 'No record is held for that NHS number, or you cannot see it');
    }
    url.searchParams.set('code', await this.#issueCode(user, pending, patientId));
    return url.href;
  }

  /** The redirect that tells the app the user declined (the picker's cancel). */
  async decline(user: UserActor, pending: PendingAuthorization): Promise<string> {
    await this.#audit('refused', 'smart-authorize', user, `app/${pending.clientId}`, { reason: 'declined' });
    const url = new URL(pending.redirectUri);
    url.searchParams.set('error', 'access_denied');
    url.searchParams.set('state', pending.state);
    return url.href;
  }

  async #issueCode(user: UserActor, p: PendingAuthorization, patientId: string | null): Promise<string> {
    // The person is resolved by reading the Patient as the user: a context the user cannot open is refused.
    const personId = patientId === null ? null : await this.#d.records.personOfPatient(user, patientId);
    const code = secret();
    await insertCode(this.#d.db, hash(code), {
      familyId: secret(),
      clientId: p.clientId,
      redirectUri: p.redirectUri,
      codeChallenge: p.codeChallenge,
      scope: p.scope,
      actor: stored(user),
      patientId,
      personId,
      nonce: p.nonce ?? null,
      expiresAt: new Date(this.#now().getTime() + CODE_SECONDS * 1000),
    });
    await this.#audit('allowed', 'smart-authorize', user, `app/${p.clientId} scope ${p.scope}`, { patientId });
    return code;
  }

  // --- The token endpoint ---

  /** Handles `POST /oauth/token`. Throws OAuthError (audited) with the RFC 6749 error code. */
  async token(form: URLSearchParams, requestId?: string): Promise<TokenResponse> {
    const via: RequestVia = { channel: 'api', ...(requestId === undefined ? {} : { requestId }) };
    const grant = form.get('grant_type');
    const clientGuess = form.get('client_id') ?? assertionIssuer(form.get('client_assertion') ?? '') ?? 'unknown';
    let actor: Actor = { kind: 'system', systemId: clientGuess.slice(0, 128), via };
    try {
      if (grant === 'client_credentials') return await this.#clientCredentials(form, via, (a) => (actor = a));
      if (grant !== 'authorization_code' && grant !== 'refresh_token') {
        throw new OAuthError(
          'unsupported_grant_type',
          'grant_type must be authorization_code, refresh_token or client_credentials',
        );
      }
      if (grant === 'refresh_token' && form.get('client_id') === null && form.get('client_assertion') === null) {
        // A public app need not name itself on refresh (RFC 6749 §6): the token's own client must be public.
        const token = form.get('refresh_token') ?? '';
        const clientId = OPAQUE.test(token) ? await refreshClientOf(this.#d.db, hash(token)) : null;
        if (clientId !== null) form.set('client_id', clientId);
      }
      const app = await this.#authenticateApp(form);
      if (grant === 'authorization_code') return await this.#codeGrant(app, form, via, (a) => (actor = a));
      return await this.#refreshGrant(app, form, via, (a) => (actor = a));
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      await this.#audit('refused', 'smart-token', actor, `token (${(grant ?? 'none').slice(0, 32)})`, {
        reason: err.reason,
      });
      throw err;
    }
  }

  /** A public app names itself (`client_id`); a confidential one signs a client assertion (private_key_jwt). */
  async #authenticateApp(form: URLSearchParams): Promise<SmartAppRow> {
    const assertion = form.get('client_assertion');
    if (assertion !== null) {
      if (form.get('client_assertion_type') !== CLIENT_ASSERTION_TYPE) {
        throw new OAuthError('invalid_client', `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`);
      }
      let found: SmartAppRow | null = null;
      const verified = await verifyClientAssertion(assertion, {
        tokenEndpoint: this.tokenEndpoint,
        now: this.#now(),
        keysOf: async (id) => {
          found = await findSmartApp(this.#d.db, id);
          return found?.jwks ? createLocalJWKSet(JSON.parse(found.jwks) as JSONWebKeySet) : null;
        },
      });
      const app = found as SmartAppRow | null;
      if (!app) throw new OAuthError('invalid_client', 'The client is not registered', { reason: 'unknown-client' });
      const id = form.get('client_id');
      if (id !== null && id !== app.clientId)
        throw new OAuthError('invalid_client', 'client_id does not match the assertion');
      await this.#useJti(verified.clientId, verified.jti, verified.exp);
      return app;
    }
    const app = await findSmartApp(this.#d.db, form.get('client_id') ?? '');
    if (!app) throw new OAuthError('invalid_client', 'The client is not registered', { reason: 'unknown-client' });
    if (app.jwks !== null) {
      throw new OAuthError('invalid_client', 'A confidential app must authenticate with a signed client assertion', {
        reason: 'client-not-authenticated',
      });
    }
    return app;
  }

  async #useJti(clientId: string, jti: string, exp: number): Promise<void> {
    const now = this.#now();
    if (!(await useAssertionJti(this.#d.db, clientId, jti, new Date((exp + 60) * 1000), now))) {
      throw new OAuthError('invalid_client', 'The client assertion has already been used', { reason: 'replayed' });
    }
  }

  async #stillHolds(user: UserActor): Promise<void> {
    if (!holdsProfile(await this.#d.users.find(user.userId), { org: user.orgOds, role: user.role })) {
      throw new OAuthError('invalid_grant', 'The user is no longer configured for this role', {
        reason: 'user-withdrawn',
      });
    }
  }

  async #codeGrant(
    app: SmartAppRow,
    form: URLSearchParams,
    via: RequestVia,
    setActor: (a: Actor) => void,
  ): Promise<TokenResponse> {
    const code = form.get('code') ?? '';
    const now = this.#now();
    const used = OPAQUE.test(code) ? await useCode(this.#d.db, hash(code), now) : null;
    if (!used) throw new OAuthError('invalid_grant', 'The authorization code is unknown', { reason: 'unknown-code' });
    if (used.state === 'used') {
      const revoked = await revokeFamily(this.#d.db, used.familyId, now);
      throw new OAuthError('invalid_grant', 'The authorization code has already been used; its tokens are revoked', {
        reason: `code-reused (${revoked} refresh token(s) revoked)`,
      });
    }
    const c = used.code;
    const user = revive(c.actor, via);
    setActor(user);
    if (c.clientId !== app.clientId)
      throw new OAuthError('invalid_grant', 'The code was issued to another client', { reason: 'wrong-client' });
    if (c.expiresAt <= now)
      throw new OAuthError('invalid_grant', 'The authorization code has expired', { reason: 'code-expired' });
    if (form.get('redirect_uri') !== c.redirectUri) {
      throw new OAuthError('invalid_grant', 'redirect_uri differs from the authorization request', {
        reason: 'wrong-redirect-uri',
      });
    }
    if (!verifierMatches(form.get('code_verifier') ?? undefined, c.codeChallenge)) {
      throw new OAuthError('invalid_grant', 'The code_verifier does not match the code_challenge (PKCE S256)', {
        reason: 'pkce-mismatch',
      });
    }
    await this.#stillHolds(user);
    const granted = grantScopes(c.scope, 'app');
    const body = await this.#appTokens(app, user, granted, c.patientId, c.personId, c.nonce);
    if (body.refresh_token !== undefined) {
      await insertRefresh(this.#d.db, hash(body.refresh_token), {
        familyId: c.familyId,
        clientId: app.clientId,
        scope: granted.scope,
        actor: c.actor,
        patientId: c.patientId,
        personId: c.personId,
        expiresAt: new Date(now.getTime() + this.#d.refreshSeconds * 1000),
      });
    }
    await this.#audit('allowed', 'smart-token', user, `token (authorization_code) app/${app.clientId}`, {
      patientId: c.patientId,
    });
    return body;
  }

  async #refreshGrant(
    app: SmartAppRow,
    form: URLSearchParams,
    via: RequestVia,
    setActor: (a: Actor) => void,
  ): Promise<TokenResponse> {
    const token = form.get('refresh_token') ?? '';
    const now = this.#now();
    const used = OPAQUE.test(token) ? await useRefresh(this.#d.db, hash(token), now) : null;
    if (!used)
      throw new OAuthError('invalid_grant', 'The refresh token is unknown or expired', {
        reason: 'unknown-refresh-token',
      });
    if (used.state === 'reused') {
      const revoked = await revokeFamily(this.#d.db, used.familyId, now);
      throw new OAuthError(
        'invalid_grant',
        'The refresh token has already been used; every token of this grant is revoked',
        {
          reason: `refresh-reused (${revoked} refresh token(s) revoked)`,
        },
      );
    }
    const r = used.row;
    const user = revive(r.actor, via);
    setActor(user);
    if (r.clientId !== app.clientId) {
      await revokeFamily(this.#d.db, r.familyId, now);
      throw new OAuthError('invalid_grant', 'The refresh token was issued to another client', {
        reason: 'wrong-client',
      });
    }
    let scope = r.scope;
    const asked = form.get('scope');
    if (asked !== null && asked !== '') {
      const original = new Set(r.scope.split(' '));
      if (!asked.split(' ').every((s) => original.has(s))) {
        throw new OAuthError('invalid_scope', 'A refresh may narrow the scopes, never widen them');
      }
      scope = asked;
    }
    await this.#stillHolds(user);
    const granted = grantScopes(scope, 'app');
    const body = await this.#appTokens(
      app,
      user,
      { ...granted, openid: false, refresh: true },
      r.patientId,
      r.personId,
      null,
    );
    // Rotation: the next token of the family keeps the family's absolute expiry.
    await insertRefresh(this.#d.db, hash(body.refresh_token ?? ''), { ...r, scope: granted.scope });
    await this.#audit('allowed', 'smart-token', user, `token (refresh_token) app/${app.clientId}`, {
      patientId: r.patientId,
    });
    return body;
  }

  async #appTokens(
    app: SmartAppRow,
    user: UserActor,
    g: GrantedScopes,
    patientId: string | null,
    personId: string | null,
    nonce: string | null,
  ): Promise<TokenResponse> {
    const ttl = Math.min(APP_ACCESS_SECONDS, this.#d.tokens.maxTtlSeconds);
    const patientScoped = g.patient && patientId !== null && personId !== null;
    if (g.patient && !patientScoped) throw new OAuthError('invalid_grant', 'A patient scope needs a person in context');
    const access = await this.#d.tokens.issue(
      { id: user.userId, name: user.displayName ?? user.userId, org: user.orgOds, role: user.role },
      {
        ttlSeconds: ttl,
        smart: {
          scope: g.scope,
          clientId: app.clientId,
          ...(patientScoped ? { patientId, personId } : {}),
        },
      },
    );
    const body: TokenResponse = { access_token: access, token_type: 'Bearer', expires_in: ttl, scope: g.scope };
    if (patientId !== null) {
      body.patient = patientId;
      body.need_patient_banner = true;
    }
    if (g.openid) {
      body.id_token = await this.#d.tokens.issueIdToken({
        issuer: this.fhirBase,
        audience: app.clientId,
        subject: user.userId,
        ...(nonce === null ? {} : { nonce }),
        ...(g.fhirUser && practitionerIdOf(user.userId) !== null
          ? { fhirUser: `${this.fhirBase}/Practitioner/${practitionerIdOf(user.userId)}` }
          : {}),
        ...(user.displayName === undefined ? {} : { name: user.displayName }),
      });
    }
    if (g.refresh) body.refresh_token = secret();
    return body;
  }

  async #clientCredentials(
    form: URLSearchParams,
    via: RequestVia,
    setActor: (a: Actor) => void,
  ): Promise<TokenResponse> {
    if (form.get('client_assertion_type') !== CLIENT_ASSERTION_TYPE) {
      throw new OAuthError('invalid_client', `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`, {
        reason: 'no-assertion',
      });
    }
    let org = '';
    const verified = await verifyClientAssertion(form.get('client_assertion') ?? '', {
      tokenEndpoint: this.tokenEndpoint,
      now: this.#now(),
      keysOf: async (id) => {
        const system = await this.#hostKeys.system(id);
        if (!system) return null;
        org = system.org;
        return this.#hostKeys.keysOf(system);
      },
    });
    await this.#useJti(verified.clientId, verified.jti, verified.exp);
    const g = grantScopes(form.get('scope') ?? '', 'backend');
    if (g.systemWrite) return this.#feedToken(verified.clientId, org, g, via, setActor);
    const role = await backendRoleOf(this.#d.db, verified.clientId);
    if (role === null) {
      throw new OAuthError('unauthorized_client', 'This host system is not allowed SMART backend services', {
        reason: 'no-backend-role',
      });
    }
    const subject = { id: `system:${verified.clientId}`, name: `host system ${verified.clientId}`, org, role };
    const actor: UserActor = {
      kind: 'user',
      userId: subject.id,
      orgOds: org,
      role,
      displayName: subject.name,
      via,
      limits: { clientId: verified.clientId, readOnly: true, backend: true },
    };
    setActor(actor);
    const access = await this.#d.tokens.issue(subject, {
      ttlSeconds: BACKEND_ACCESS_SECONDS,
      smart: { scope: g.scope, clientId: verified.clientId, backend: true },
    });
    await this.#audit('allowed', 'smart-token', actor, `token (client_credentials) system/${verified.clientId}`);
    return { access_token: access, token_type: 'Bearer', expires_in: BACKEND_ACCESS_SECONDS, scope: g.scope };
  }

  /**
   * A `system/*.cu` token: the host system writes as the FHIR feed it is linked to (`icr systems add …
   * --feed <id>`, ADR 0044). Refused when it is linked to no feed, or the feed is no longer a fhir feed of
   * its organisation, or is suspended. The feed's status is checked again on every request.
   */
  async #feedToken(
    clientId: string,
    org: string,
    g: GrantedScopes,
    via: RequestVia,
    setActor: (a: Actor) => void,
  ): Promise<TokenResponse> {
    const feedId = await hostFeedOf(this.#d.db, clientId);
    const actor: SystemActor = { kind: 'system', systemId: `system:${clientId}`, orgOds: org, clientId, via };
    setActor(actor);
    if (feedId === null) {
      throw new OAuthError(
        'invalid_scope',
        `Host system ${clientId} sends no FHIR feed, so it may not write (link one with \`icr systems add ${clientId} … --feed <feed-id>\`)`,
        { reason: 'no-feed' },
      );
    }
    actor.feedId = feedId;
    const feed = await getFeed(this.#d.db, feedId);
    if (!feed || feed.protocol !== 'fhir' || feed.orgOds !== org) {
      throw new OAuthError('invalid_scope', `Feed ${feedId} is not a FHIR feed of ${org}`, { reason: 'feed-mismatch' });
    }
    if (feed.status === 'suspended') {
      throw new OAuthError(
        'unauthorized_client',
        `Feed ${feedId} is suspended: ${feed.suspendedReason ?? 'no reason given'}`,
        { reason: 'feed-suspended' },
      );
    }
    const access = await this.#d.tokens.issueSystemFeed(
      { clientId, feedId, org, scope: g.scope },
      { ttlSeconds: BACKEND_ACCESS_SECONDS },
    );
    await this.#audit('allowed', 'smart-token', actor, `token (client_credentials) system/${clientId} feed/${feedId}`);
    return { access_token: access, token_type: 'Bearer', expires_in: BACKEND_ACCESS_SECONDS, scope: g.scope };
  }
}
