/**
 * Synthetic demo users: one per kind of professional who uses the record (DESIGN.md §2). The demo load
 * (and the test helper) writes them to the database as ordinary configured users (records/demo/), so that
 * `icr token --user <id>` issues a token for them like for any user. Names are invented.
 *
 * Roles come from the catalogue in src/access/roles.ts (national RBAC codes where one exists).
 */

export interface DemoUser {
  /** The user id: the token `sub`, and what `icr token --user` takes. */
  id: string;
  name: string;
  /** ODS code of the organisation the user works for. */
  org: string;
  orgName: string;
  /** Role code (token `role`). */
  role: string;
  roleName: string;
}

export const DEMO_USERS: readonly DemoUser[] = Object.freeze([
  {
    id: 'gp-a81001',
    name: 'Dr Asha Demo-Patel',
    org: 'A81001',
    orgName: 'Demo GP practice A81001',
    role: 'R8000',
    roleName: 'Clinical Practitioner Access Role (GP)',
  },
  {
    id: 'ed-doctor-rns',
    name: 'Dr Ben Demo-Okafor',
    org: 'RNS',
    orgName: 'Demo acute trust (emergency department)',
    role: 'R8000',
    roleName: 'Clinical Practitioner Access Role (emergency medicine)',
  },
  {
    id: 'social-worker',
    name: 'Cara Demo-Lewis',
    org: 'LA001',
    orgName: 'Demo council adult social care',
    role: 'icr-social-worker',
    roleName: 'Social worker (local role)',
  },
  {
    id: 'admin-clerk',
    name: 'Dev Demo-Singh',
    org: 'A81001',
    orgName: 'Demo GP practice A81001',
    role: 'R8008',
    roleName: 'Admin/Clinical Support Access Role',
  },
  {
    id: 'data-steward',
    name: 'Gita Demo-Rahman',
    org: 'ICR01',
    orgName: 'Demo integrated care record team',
    role: 'icr-data-steward',
    roleName: 'Data steward (local role): resolves possible duplicate people',
  },
  {
    id: 'privacy-officer',
    name: 'Eve Demo-Jones',
    org: 'ICR01',
    orgName: 'Demo integrated care record team',
    role: 'R0001',
    roleName: 'Privacy officer',
  },
  {
    id: 'caldicott-guardian',
    name: 'Dr Hal Demo-Evans',
    org: 'ICR01',
    orgName: 'Demo integrated care record team',
    role: 'R5105',
    roleName: 'Caldicott guardian',
  },
  {
    id: 'ward-nurse',
    name: 'Ivy Demo-Brown',
    org: 'RNS',
    orgName: 'Demo acute trust (emergency department)',
    role: 'R8001',
    roleName: 'Nurse',
  },
  {
    id: 'system-admin',
    name: 'Jo Demo-Clarke',
    org: 'ICR01',
    orgName: 'Demo integrated care record team',
    role: 'icr-system-admin',
    roleName: 'System administrator (local role): manages users',
  },
  {
    id: 'integration-engineer',
    name: 'Finn Demo-Walker',
    org: 'ICR01',
    orgName: 'Demo integrated care record team',
    role: 'icr-integration-engineer',
    roleName: 'Integration engineer (local role)',
  },
] satisfies DemoUser[]);

export function findDemoUser(id: string): DemoUser | undefined {
  return DEMO_USERS.find((u) => u.id === id);
}
