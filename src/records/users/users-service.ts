/**
 * Users and their role profiles: add, list, disable (`icr users …`, `/api/admin/users`), and the check
 * every request makes that its token's user exists, is enabled and holds the token's profile. Only the
 * product itself (the CLI, as the system actor) and system administrators manage users; every change and
 * every refusal is audited.
 */
import { checkOrg, checkRole, SYSTEM_ADMIN_ROLE } from '../../access/roles.ts';
import type { AuditRecord } from '../../audit/audit-record.ts';
import type { Actor } from '../../shared/actor.ts';
import { IcrError } from '../../shared/errors.ts';
import { holdsProfile, type RoleProfile, type UserRecord } from '../../shared/users.ts';
import type { Db } from '../../store/db.ts';
import { userStore } from '../../store/user-store.ts';
import { auditedWrite } from '../audited-write.ts';
import type { UserDirectory } from '../../shared/users.ts';

const USER_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

export interface UsersServiceDeps {
  db: Db;
  /** Who may act (the database directory; tests may pass another). `invalidate` forgets a cached user. */
  directory: UserDirectory & { invalidate?(userId: string): void };
  audit: (db: Db, rec: AuditRecord) => Promise<void>;
}

export interface NewUser {
  id: string;
  name: string;
  profiles: readonly RoleProfile[];
}

export function checkUserId(id: unknown): string {
  if (typeof id !== 'string' || !USER_ID.test(id)) {
    throw new IcrError('ICR_BAD_REQUEST', 'A user id is 1–128 letters, digits or . _ : @ -');
  }
  return id;
}

export class UsersService {
  readonly #deps: UsersServiceDeps;

  constructor(deps: UsersServiceDeps) {
    this.#deps = deps;
  }

  get directory(): UserDirectory {
    return this.#deps.directory;
  }

  #admin(actor: Actor): void {
    if (actor.kind === 'user' && actor.role !== SYSTEM_ADMIN_ROLE) {
      throw new IcrError(
        'ICR_ACCESS_DENIED',
        `Only a system administrator (role ${SYSTEM_ADMIN_ROLE}) may manage users`,
      );
    }
  }

  async #run<T>(db: Db | null, rec: Omit<AuditRecord, 'outcome'>, fn: (db: Db) => Promise<T>): Promise<T> {
    if (db) return fn(db);
    return auditedWrite(this.#deps.db, this.#deps.audit, rec, (tx) => fn(tx));
  }

  /** Adds a user, or adds profiles to (and renames) an existing one. */
  async add(actor: Actor, user: NewUser): Promise<UserRecord> {
    const what = `user/${String(user.id).slice(0, 128)}`;
    const out = await this.#run(null, { action: 'user-add', actor, what, basis: 'not-clinical' }, async (tx) => {
      this.#admin(actor);
      checkUserId(user.id);
      if (typeof user.name !== 'string' || user.name.trim() === '' || user.name.length > 200) {
        throw new IcrError('ICR_BAD_REQUEST', 'A user needs a name (1–200 characters)');
      }
      if (user.profiles.length === 0) {
        throw new IcrError('ICR_BAD_REQUEST', 'A user needs at least one role profile (--org <ods> --role <code>)');
      }
      const profiles = user.profiles.map((p) => ({ org: checkOrg(p.org), role: checkRole(p.role) }));
      await userStore.upsert(tx, { id: user.id, name: user.name.trim(), profiles });
      const stored = await userStore.find(tx, user.id);
      if (!stored) throw new IcrError('ICR_INTERNAL', 'The user was not stored');
      return stored;
    });
    this.#deps.directory.invalidate?.(user.id);
    return out;
  }

  async list(actor: Actor): Promise<UserRecord[]> {
    return this.#run(null, { action: 'user-list', actor, what: 'users', basis: 'not-clinical' }, async (tx) => {
      this.#admin(actor);
      return userStore.list(tx);
    });
  }

  /** Disables (or, with `disabled: false`, re-enables) a user: their tokens are refused from now on. */
  async disable(actor: Actor, userId: string, disabled = true): Promise<UserRecord> {
    const rec = {
      action: disabled ? 'user-disable' : 'user-enable',
      actor,
      what: `user/${String(userId).slice(0, 128)}`,
    };
    const out = await this.#run(null, { ...rec, basis: 'not-clinical' }, async (tx) => {
      this.#admin(actor);
      checkUserId(userId);
      if (!(await userStore.setDisabled(tx, userId, disabled))) {
        throw new IcrError('ICR_UNKNOWN_USER', `No user "${userId}" is configured`);
      }
      return (await userStore.find(tx, userId)) as UserRecord;
    });
    this.#deps.directory.invalidate?.(userId);
    return out;
  }

  /** A configured user (for `icr token`); ICR_UNKNOWN_USER when there is none. */
  async get(userId: string): Promise<UserRecord> {
    checkUserId(userId);
    const user = await userStore.find(this.#deps.db, userId);
    if (!user) throw new IcrError('ICR_UNKNOWN_USER', `No user "${userId}" is configured (see \`icr users list\`)`);
    return user;
  }

  /**
   * Every request: the token's user must exist, be enabled and hold the token's (org, role) profile.
   * A refusal is audited: unknown or disabled user → 401, a profile the user does not hold → 403.
   */
  async checkActor(actor: Actor): Promise<void> {
    if (actor.kind !== 'user') return;
    // A SMART backend services client is a registered host system, not a user of the directory: its token
    // (5 minutes at most) was issued only after its signed assertion and registered role were checked.
    if (actor.limits?.backend === true) return;
    const user = await this.#deps.directory.find(actor.userId);
    if (holdsProfile(user, { org: actor.orgOds, role: actor.role })) return;
    const err =
      user === null || user.disabled
        ? new IcrError('ICR_UNAUTHENTICATED', 'The bearer token is invalid or has expired')
        : new IcrError('ICR_ACCESS_DENIED', 'The token names a role profile its user does not hold');
    await this.#deps.audit(this.#deps.db, {
      action: 'authenticate',
      outcome: 'refused',
      actor,
      what: `user/${actor.userId}`,
      basis: 'none',
      errorCode: err.code,
    });
    throw err;
  }
}
