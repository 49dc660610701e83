/**
 * The demo users plus the people the audit tests need (a privacy officer R0001, a Caldicott guardian
 * R5105, an ED doctor named Smith), as a UserDirectory for `openTestApp`.
 */
import { demoUserDirectory } from '../../src/auth/demo-directory.ts';
import type { UserDirectory, UserRecord } from '../../src/shared/users.ts';

export const AUDIT_TEST_USERS: readonly UserRecord[] = [
  { id: 'po-1', name: 'Priya Officer', disabled: false, profiles: [{ org: 'ICR01', role: 'R0001' }] },
  { id: 'cg-1', name: 'Colin Guardian', disabled: false, profiles: [{ org: 'ICR01', role: 'R5105' }] },
  { id: 'ed-smith', name: 'Dr Jane Smith', disabled: false, profiles: [{ org: 'RNS', role: 'R8000' }] },
];

export function auditTestUsers(): UserDirectory & { list(): UserRecord[] } {
  const demo = demoUserDirectory();
  return {
    async find(id) {
      return AUDIT_TEST_USERS.find((u) => u.id === id) ?? demo.find(id);
    },
    list: () => [...demo.list(), ...AUDIT_TEST_USERS],
  };
}
