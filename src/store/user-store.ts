/**
 * Configured users and their role profiles (tables icr_user, icr_user_profile; migration 0006). The
 * records layer wraps this in the `UserDirectory` every channel authenticates against.
 */
import type { RoleProfile, UserRecord } from '../shared/users.ts';
import type { Db } from './db.ts';

interface UserRow {
  id: string;
  name: string;
  disabled: boolean;
  profiles: Array<{ org: string; role: string }> | string | null;
}

function fromRow(r: UserRow): UserRecord {
  const raw = typeof r.profiles === 'string' ? (JSON.parse(r.profiles) as RoleProfile[]) : (r.profiles ?? []);
  return {
    id: r.id,
    name: r.name,
    disabled: r.disabled,
    profiles: raw.map((p) => ({ org: p.org, role: p.role })),
  };
}

const SELECT = `select u.id, u.name, u.disabled,
    coalesce((select json_agg(json_build_object('org', p.org, 'role', p.role) order by p.created_at, p.org, p.role)
      from icr_user_profile p where p.user_id = u.id), '[]'::json) as profiles
  from icr_user u`;

export const userStore = {
  async find(db: Db, id: string): Promise<UserRecord | null> {
    const res = await db.query<UserRow>(`${SELECT} where u.id = $1`, [id]);
    const r = res.rows[0];
    return r ? fromRow(r) : null;
  },

  async list(db: Db): Promise<UserRecord[]> {
    const res = await db.query<UserRow>(`${SELECT} order by u.id`);
    return res.rows.map(fromRow);
  },

  /**
   * Creates the user (or renames an existing one) and adds the profiles it does not hold yet. Must run
   * in a transaction with the audit entry. Returns whether the user was new.
   */
  async upsert(db: Db, user: { id: string; name: string; profiles: readonly RoleProfile[] }): Promise<boolean> {
    const res = await db.query<{ inserted: boolean }>(
      `insert into icr_user (id, name) values ($1, $2)
       on conflict (id) do update set name = excluded.name, updated_at = now()
       returning (xmax = 0) as inserted`,
      [user.id, user.name],
    );
    for (const p of user.profiles) {
      await db.query('insert into icr_user_profile (user_id, org, role) values ($1, $2, $3) on conflict do nothing', [
        user.id,
        p.org,
        p.role,
      ]);
    }
    return res.rows[0]?.inserted === true;
  },

  /** Disables (or re-enables) a user; false when no such user. */
  async setDisabled(db: Db, id: string, disabled: boolean): Promise<boolean> {
    const res = await db.query<{ id: string }>(
      'update icr_user set disabled = $2, updated_at = now() where id = $1 returning id',
      [id, disabled],
    );
    return res.rows.length > 0;
  },
};
