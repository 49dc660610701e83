/**
 * Configured users as the rest of the product sees them: who they are, whether they may still sign in,
 * and the role profiles (organisation + role) they may act in. One profile is selected per session or
 * token; the access decisions use the selected one. No I/O here: the directory is implemented over the
 * store (records/users/) and passed to whoever authenticates (http, launch, sign-in).
 */

/** A role profile: a role code (national RBAC where one exists, e.g. R8000) at one organisation (ODS code). */
export interface RoleProfile {
  org: string;
  role: string;
}

export interface UserRecord {
  id: string;
  name: string;
  /** A disabled user's tokens and sessions are refused. */
  disabled: boolean;
  profiles: readonly RoleProfile[];
}

export interface UserDirectory {
  /** The user, or null when no such user is configured. */
  find(userId: string): Promise<UserRecord | null>;
}

/** Whether `user` may act in the given profile (enabled, and holding that organisation and role). */
export function holdsProfile(user: UserRecord | null, profile: RoleProfile): boolean {
  return user !== null && !user.disabled && user.profiles.some((p) => p.org === profile.org && p.role === profile.role);
}
