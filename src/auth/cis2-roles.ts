/**
 * NHS Care Identity Service 2 (CIS2) role claims → the role profiles a sign-in may select. CIS2 asserts
 * every role a person holds in `nhsid_nrbac_roles` (each with `person_roleid`, `org_code` and
 * `role_code`, e.g. `S8000:G8000:R8000` — job role code, group and national RBAC role) and, when the
 * person chose one at sign-in, its `person_roleid` as `selected_roleid`. No I/O here.
 */
import type { RoleProfile } from '../shared/users.ts';

export interface Cis2RoleEntry {
  person_roleid?: unknown;
  org_code?: unknown;
  role_code?: unknown;
}

const CODE = /^[A-Za-z0-9._-]{1,64}$/;

function profilesOf(entry: Cis2RoleEntry): RoleProfile[] {
  if (typeof entry.org_code !== 'string' || typeof entry.role_code !== 'string') return [];
  const org = entry.org_code.trim().toUpperCase();
  if (!CODE.test(org)) return [];
  // Most specific first: the national RBAC role (last part), then the group and job role codes.
  return entry.role_code
    .split(':')
    .map((c) => c.trim())
    .filter((c) => CODE.test(c))
    .reverse()
    .map((role) => ({ org, role }));
}

/**
 * The candidate profiles, in order of preference. With `selected_roleid`, only the selected role's
 * entry counts (the person chose it at the identity provider); a selected id that matches no entry
 * gives none. Without it, every asserted role is a candidate, in the order asserted.
 */
export function cis2Profiles(claims: Record<string, unknown>): RoleProfile[] {
  const roles = claims.nhsid_nrbac_roles;
  if (!Array.isArray(roles)) return [];
  const entries = roles.filter((r): r is Cis2RoleEntry => typeof r === 'object' && r !== null);
  const selected = claims.selected_roleid;
  if (typeof selected === 'string' && selected !== '') {
    const chosen = entries.find((e) => e.person_roleid === selected);
    return chosen ? profilesOf(chosen) : [];
  }
  return entries.flatMap(profilesOf);
}
