/**
 * The role catalogue (DESIGN.md §4): national RBAC codes where one exists, local `icr-*` codes otherwise.
 * A user holds profiles (role + organisation); unknown role codes are refused wherever they appear.
 */
import { IcrError } from '../shared/errors.ts';

export const ROLES = {
  R8000: 'Clinical practitioner',
  R8001: 'Nurse',
  R8003: 'Health professional',
  R8008: 'Admin and clinical support',
  R0001: 'Privacy officer',
  R5105: 'Caldicott guardian',
  'icr-social-worker': 'Social worker (local role)',
  'icr-data-steward': 'Data steward (local role)',
  'icr-integration-engineer': 'Integration engineer (local role)',
  'icr-system-admin': 'System administrator (local role)',
} as const;

export type RoleCode = keyof typeof ROLES;

export const ROLE_CODES = Object.keys(ROLES) as RoleCode[];

/** Data stewards review and change the MPI's links. */
export const STEWARD_ROLE: RoleCode = 'icr-data-steward';
/** System administrators manage users. */
export const SYSTEM_ADMIN_ROLE: RoleCode = 'icr-system-admin';
/** Privacy officers and Caldicott guardians review declared and emergency access. */
export const PRIVACY_ROLES: readonly RoleCode[] = ['R0001', 'R5105'];
/** Roles that may write clinical data through the API (feeds write as registered systems). */
export const WRITER_ROLES: readonly RoleCode[] = ['R8000', 'R8001', 'R8003', 'icr-social-worker'];

export function isRole(code: string): code is RoleCode {
  return Object.hasOwn(ROLES, code);
}

/** Throws ICR_UNKNOWN_ROLE naming the catalogue when `code` is not a known role. */
export function checkRole(code: string): RoleCode {
  if (!isRole(code)) {
    throw new IcrError(
      'ICR_UNKNOWN_ROLE',
      `Unknown role "${code.slice(0, 64)}"; known roles: ${ROLE_CODES.join(', ')}`,
    );
  }
  return code;
}

const ODS_PATTERN = /^[A-Z0-9]{3,10}$/;

/** Throws ICR_BAD_REQUEST unless `org` looks like an ODS code (3–10 capital letters or digits). */
export function checkOrg(org: string): string {
  if (!ODS_PATTERN.test(org)) {
    throw new IcrError('ICR_BAD_REQUEST', `"${org.slice(0, 64)}" is not an ODS code (3–10 capital letters or digits)`);
  }
  return org;
}
