/**
 * The use cases of arriving: a context launch from a registered host system, a completed sign-in (OpenID
 * Connect or the demo page), and the browser sessions they open. Every arrival ends as a UserActor with
 * one selected role profile, and every one — accepted or refused — is audited (`launch`, `sign-in`).
 */
import { LaunchRefused, verifyLaunchToken, unverifiedIssuer, type LaunchClaims } from '../../auth/launch-token.ts';
import type { AuditLog } from '../../audit/audit-record.ts';
import type { Actor, RequestVia, UserActor } from '../../shared/actor.ts';
import { IcrError } from '../../shared/errors.ts';
import { holdsProfile, type RoleProfile, type UserDirectory } from '../../shared/users.ts';
import type { Db } from '../../store/db.ts';
import { listHostSystems, useLaunchJti } from '../../store/sign-in-store.ts';
import type { RecordsService } from '../records-service.ts';
import { HostSystemKeys } from './host-systems.ts';
import { WebSessionStore } from './web-sessions.ts';

export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';

export interface SignInServiceDeps {
  db: Db;
  records: RecordsService;
  users: UserDirectory;
  audit: AuditLog;
  /** The server's public base URL: the `aud` every launch token must carry. */
  publicUrl: string;
  now?: () => Date;
}

export interface LaunchResult {
  actor: UserActor;
  /** The Patient to open, or null when no record is held for the NHS number. */
  patientId: string | null;
}

export class SignInService {
  readonly #db: Db;
  readonly #records: RecordsService;
  readonly #users: UserDirectory;
  readonly #audit: AuditLog;
  readonly #publicUrl: string;
  readonly #now: () => Date;
  readonly #hostKeys: HostSystemKeys;
  readonly sessions: WebSessionStore;

  constructor(deps: SignInServiceDeps) {
    this.#db = deps.db;
    this.#records = deps.records;
    this.#users = deps.users;
    this.#audit = deps.audit;
    this.#publicUrl = deps.publicUrl;
    this.#now = deps.now ?? (() => new Date());
    this.#hostKeys = new HostSystemKeys(deps.db);
    this.sessions = new WebSessionStore(deps.db, this.#now);
  }

  get users(): UserDirectory {
    return this.#users;
  }

  /** The origins of registered host systems that embed the viewer (CSP frame-ancestors). */
  async frameOrigins(): Promise<string[]> {
    return (await listHostSystems(this.#db)).flatMap((s) => (s.frameOrigin ? [s.frameOrigin] : []));
  }

  /**
   * Checks a launch token and resolves the person. Throws LaunchRefused (audited) with the reason; on
   * success the caller opens a session for the returned actor.
   */
  async launch(token: string, requestId?: string): Promise<LaunchResult> {
    const via: RequestVia = { channel: 'launch', ...(requestId === undefined ? {} : { requestId }) };
    let claims: LaunchClaims | undefined;
    let actor: Actor = { kind: 'system', systemId: unverifiedIssuer(token) ?? 'unknown', via };
    try {
      const now = this.#now();
      const systemOrg = new Map<string, string>();
      claims = await verifyLaunchToken(token, {
        audience: this.#publicUrl,
        now,
        keysOf: async (iss) => {
          const system = await this.#hostKeys.system(iss);
          if (!system) return null;
          systemOrg.set(iss, system.org);
          return this.#hostKeys.keysOf(system);
        },
      });
      const user: UserActor = {
        kind: 'user',
        userId: claims.sub,
        orgOds: claims.org,
        role: claims.role,
        displayName: claims.name,
        via,
      };
      actor = user;
      if (systemOrg.get(claims.iss) !== claims.org) throw new LaunchRefused('wrong-organisation');
      if (!(await useLaunchJti(this.#db, claims.iss, claims.jti, new Date(claims.exp * 1000), now))) {
        throw new LaunchRefused('replayed');
      }
      const record = await this.#users.find(claims.sub);
      if (!record || record.disabled) throw new LaunchRefused('unknown-user');
      if (!holdsProfile(record, { org: claims.org, role: claims.role })) throw new LaunchRefused('no-role-profile');
      user.displayName = record.name;
      const patientId = await this.#findPatient(user, claims.patientNhsNumber);
      await this.#audit.record(this.#db, {
        action: 'launch',
        outcome: 'allowed',
        actor: user,
        patientId,
        what: patientId === null ? 'launch (no record held)' : `Patient/${patientId}`,
      });
      return { actor: user, patientId };
    } catch (err) {
      const refusal = err instanceof LaunchRefused ? err : new LaunchRefused('malformed', { cause: err });
      if (!(err instanceof LaunchRefused) && !(err instanceof IcrError)) throw err;
      await this.#audit.record(this.#db, {
        action: 'launch',
        outcome: 'refused',
        actor,
        what: 'launch',
        errorCode: 'ICR_LAUNCH_REFUSED',
        reason: refusal.reason,
      });
      throw refusal;
    }
  }

  async #findPatient(actor: UserActor, nhsNumber: string): Promise<string | null> {
    const params = new URLSearchParams({ identifier: `${NHS_NUMBER_SYSTEM}|${nhsNumber}`, _count: '1' });
    const bundle = JSON.parse(
      await this.#records.search(actor, 'Patient', params, { baseUrl: `${this.#publicUrl}/fhir` }),
    ) as { entry?: Array<{ resource?: { id?: string } }> };
    return bundle.entry?.[0]?.resource?.id ?? null;
  }

  /**
   * Completes a sign-in by an authenticated identity (`userId`) that may act in any of `candidates`:
   * the user must be configured, enabled, and hold exactly the selected profile (the first candidate the
   * user holds). Refused (ICR_SIGN_IN_REFUSED, audited) otherwise.
   */
  async completeSignIn(
    userId: string,
    candidates: readonly RoleProfile[],
    opts: { method: 'oidc' | 'demo'; requestId?: string },
  ): Promise<UserActor> {
    const via: RequestVia = {
      channel: 'viewer',
      ...(opts.requestId === undefined ? {} : { requestId: opts.requestId }),
    };
    const user = await this.#users.find(userId);
    const profile = user ? candidates.find((p) => holdsProfile(user, p)) : undefined;
    const actor: UserActor = {
      kind: 'user',
      userId,
      orgOds: profile?.org ?? candidates[0]?.org ?? 'unknown',
      role: profile?.role ?? candidates[0]?.role ?? 'unknown',
      via,
    };
    if (!user || user.disabled || !profile) {
      const reason = !user
        ? 'not a configured user'
        : user.disabled
          ? 'user disabled'
          : 'no configured role profile matches the roles asserted';
      await this.#audit.record(this.#db, {
        action: 'sign-in',
        outcome: 'refused',
        actor,
        what: `sign-in (${opts.method})`,
        errorCode: 'ICR_SIGN_IN_REFUSED',
        reason,
      });
      throw new IcrError(
        'ICR_SIGN_IN_REFUSED',
        !user || user.disabled
          ? 'You are not a user of this shared care record, or your access has been withdrawn. Ask your organisation’s administrator.'
          : 'None of the roles you selected at sign-in lets you use this shared care record. Sign in again with another role, or ask your organisation’s administrator.',
      );
    }
    actor.displayName = user.name;
    await this.#audit.record(this.#db, {
      action: 'sign-in',
      outcome: 'allowed',
      actor,
      what: `sign-in (${opts.method})`,
    });
    return actor;
  }

  /** Records a sign-in refused before the user is known (the identity provider's answer failed). */
  async refuseSignIn(method: 'oidc' | 'demo', reason: string, requestId?: string): Promise<void> {
    await this.#audit.record(this.#db, {
      action: 'sign-in',
      outcome: 'refused',
      actor: { kind: 'system', systemId: method, via: { channel: 'viewer', ...(requestId ? { requestId } : {}) } },
      what: `sign-in (${method})`,
      errorCode: 'ICR_SIGN_IN_REFUSED',
      reason,
    });
  }

  /** Whether a session's actor may still act (the user is configured, enabled and holds the profile). */
  async stillHolds(actor: UserActor): Promise<boolean> {
    return holdsProfile(await this.#users.find(actor.userId), { org: actor.orgOds, role: actor.role });
  }
}
