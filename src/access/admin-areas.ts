/**
 * Who may use which part of the admin portal (`/admin`, docs/admin.md): one area per team behind the
 * record (DESIGN.md §2), each for the roles that do that work. The portal asks the records layer, which
 * applies this rule and audits the answer; page code never checks a role itself. No I/O here.
 */
import type { Actor } from '../shared/actor.ts';
import { PRIVACY_ROLES, type RoleCode, STEWARD_ROLE, SYSTEM_ADMIN_ROLE } from './roles.ts';

export const ADMIN_AREA_CODES = ['feeds', 'mpi', 'audit', 'users'] as const;
export type AdminArea = (typeof ADMIN_AREA_CODES)[number];

export interface AdminAreaRule {
  /** The page's heading and the link text on the portal's home page. */
  title: string;
  /** Who it is for, in words (the refusal page says so). */
  audience: string;
  roles: readonly RoleCode[];
}

export const ADMIN_AREAS: Readonly<Record<AdminArea, AdminAreaRule>> = Object.freeze({
  feeds: {
    title: 'Feeds',
    audience: 'integration engineers',
    roles: ['icr-integration-engineer'],
  },
  mpi: {
    title: 'Possible duplicate people (MPI review queue)',
    audience: 'data stewards',
    roles: [STEWARD_ROLE],
  },
  audit: {
    title: 'Audit and access reviews',
    audience: 'privacy officers and Caldicott guardians',
    roles: PRIVACY_ROLES,
  },
  users: {
    title: 'Users and roles',
    audience: 'system administrators',
    roles: [SYSTEM_ADMIN_ROLE],
  },
});

export function isAdminArea(code: string): code is AdminArea {
  return (ADMIN_AREA_CODES as readonly string[]).includes(code);
}

/**
 * Whether `actor` may use `area`. A user may when their selected role is one of the area's roles (a user
 * with several profiles chooses one at sign-in); the product itself (a system actor) may not: the portal
 * is for people.
 */
export function mayUseAdminArea(actor: Actor, area: AdminArea): boolean {
  if (actor.kind !== 'user') return false;
  return (ADMIN_AREAS[area].roles as readonly string[]).includes(actor.role);
}

/** The areas `actor` may use, in the portal's order. */
export function adminAreasFor(actor: Actor): AdminArea[] {
  return ADMIN_AREA_CODES.filter((a) => mayUseAdminArea(actor, a));
}
