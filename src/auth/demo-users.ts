/**
 * Synthetic demo users: one per kind of professional who uses the record (DESIGN.md §2). They exist so
 * that `icr token --user <id>` can issue a token for scripts, tests and the demo. Names are invented.
 *
 * Roles use the national RBAC codes where one clearly applies (R8000 Clinical Practitioner Access Role,
 * R8008 Admin/Clinical Support Access Role); the other roles are local OpenICR codes until the access
 * issue settles the role catalogue.
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
    role: 'icr-privacy-officer',
    roleName: 'Privacy officer (local role)',
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
